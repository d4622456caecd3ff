package livesim

import (
	"context"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Run plays the simulation in real time at about rate events per second until
// ctx is done or emit fails, handing events to emit in batches of at most
// batch events (a batch is also flushed after 100ms).
//
// Each event is handed over no earlier than its ts, so ts tracks the wall
// clock: create the Sim with the default start (now). Run sets the session
// arrival rate so that the world produces about rate events per second
// (calibrated on a copy of the world, then corrected every few seconds), and
// starts with the rooms as busy as in a steady state (viewers already
// watching, without a ROOM_ENTER), so the rate and the mix of events are
// right from the first seconds.
// At high rates give the world enough users (about 25 per event per second),
// or arrivals find every drawn user busy and the rate falls short (see
// Stats.Skipped). Run makes the output depend on timing, so it is not
// deterministic; Next is.
//
// Run returns ctx.Err() when ctx ends, or emit's error.
func (s *Sim) Run(ctx context.Context, rate float64, batch int, emit func(context.Context, []*tidev1.Event) error) error {
	if rate <= 0 {
		rate = 1
	}
	batch = max(batch, 1)
	perSession, roomMs := s.calibrate()
	base := rate / perSession / 1000 // sessions per ms
	s.lambda = base
	for range int(base * roomMs) { // warm start: the viewers in rooms in a steady state
		s.push(s.now+1, kWarm, 0)
	}

	buf := make([]*tidev1.Event, 0, batch)
	var first time.Time
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		err := emit(ctx, buf)
		buf = make([]*tidev1.Event, 0, batch) // emit may keep the slice
		return err
	}
	begin := time.Now()
	checkAt := begin.Add(3 * time.Second)
	lastCheck, lastEvents := begin, s.nEvents
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := s.Next()
		if wait := time.Until(time.UnixMilli(e.Ts)); wait > 2*time.Millisecond {
			if len(buf) > 0 && time.Since(first)+wait > 100*time.Millisecond {
				if err := flush(); err != nil {
					return err
				}
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if len(buf) == 0 {
			first = time.Now()
		}
		buf = append(buf, e)
		if len(buf) == batch || time.Since(first) > 100*time.Millisecond {
			if err := flush(); err != nil {
				return err
			}
		}
		if now := time.Now(); now.After(checkAt) {
			// Nudge the arrival rate towards the target, gently: sessions
			// last minutes, so the event rate answers slowly.
			got := float64(s.nEvents-lastEvents) / now.Sub(lastCheck).Seconds()
			if got > 0 {
				f := rate / got
				f = max(0.7, min(f, 1.4))
				s.lambda = max(base/3, min(s.lambda*f, base*3))
			}
			lastCheck, lastEvents, checkAt = now, s.nEvents, now.Add(3*time.Second)
		}
	}
}

// calibrate measures, on a copy of the world, the viewer events of a
// session and the time it spends in rooms (ms), over completed sessions.
func (s *Sim) calibrate() (perSession, roomMs float64) {
	c := New(append(append([]Option(nil), s.opts...), WithStart(time.UnixMilli(s.start)))...)
	for range 300_000 {
		c.Next()
	}
	if c.doneSessions == 0 {
		return 25, 200_000
	}
	n := float64(c.doneSessions)
	return max(c.doneEvents/n, 1), c.doneRoomMs / n
}
