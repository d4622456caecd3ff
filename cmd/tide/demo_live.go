package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tide-live/tide/live"
	"github.com/tide-live/tide/live/livesim"
	livepg "github.com/tide-live/tide/live/postgres"
	"github.com/tide-live/tide/live/stream"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// demoLive puts the simulator's rooms and schedules in the room registry and
// turns its stream starts and ends into registry signals, so the demo's
// stream_start / stream_end come from the registry (through the outbox), as
// in production, and not from Track. Used when TIDE_POSTGRES_URL is set
// (tide serve then runs the registry too).
type demoLive struct {
	reg *livepg.Registry
	sim *livesim.Sim
	log *slog.Logger
}

// openDemoLive registers the simulation's rooms and their sessions of the
// next day; nil without TIDE_POSTGRES_URL.
func openDemoLive(ctx context.Context, log *slog.Logger, sim *livesim.Sim) (*demoLive, error) {
	url := os.Getenv("TIDE_POSTGRES_URL")
	if url == "" {
		return nil, nil
	}
	reg, err := livepg.Open(ctx, url, livepg.WithLogger(log))
	if err != nil {
		return nil, err
	}
	if err := reg.Migrate(ctx); err != nil {
		reg.Close()
		return nil, err
	}
	d := &demoLive{reg: reg, sim: sim, log: log}
	from := sim.Now()
	for i, r := range sim.Rooms() {
		if err := reg.ImportRoom(ctx, demoRoom(i, r)); err != nil {
			reg.Close()
			return nil, fmt.Errorf("demo room %s: %w", r.ID, err)
		}
		for _, w := range sim.Windows(r.ID, from, from.Add(24*time.Hour)) {
			if _, err := reg.ImportSession(ctx, live.Session{ID: w.LiveSessionID, RoomID: r.ID, MerchantID: r.MerchantID,
				ScheduledStart: w.Start, ScheduledEnd: w.End}); err != nil {
				reg.Close()
				return nil, fmt.Errorf("demo session %s: %w", w.LiveSessionID, err)
			}
		}
	}
	return d, nil
}

func demoRoom(i int, r livesim.Room) live.Room {
	cat := r.Category
	if utf8.RuneCountInString(cat) > live.MaxNameRunes {
		cat = string([]rune(cat)[:live.MaxNameRunes])
	}
	short := cat
	if k := strings.LastIndex(short, "/"); k >= 0 {
		short = short[k+1:]
	}
	return live.Room{ID: r.ID, MerchantID: r.MerchantID, Category: cat, Title: fmt.Sprintf("%s好物直播间 %d号", short, i+1),
		AnchorName: fmt.Sprintf("主播%d号", i+1), CoverURL: "https://img.tide.test/rooms/" + r.ID + ".jpg"}
}

// divert applies b's stream starts (with the session's shelf) and ends to
// the registry and returns the other events, for Track. It must run in the
// simulation's goroutine (sim.Run's emit), which it reads.
func (d *demoLive) divert(ctx context.Context, b []*tidev1.Event) []*tidev1.Event {
	out := b[:0:0]
	for _, e := range b {
		var kind stream.Kind
		switch e.GetType() {
		case tidev1.EventType_EVENT_TYPE_STREAM_START:
			kind = stream.KindPublish
			if err := d.schedule(ctx, e); err != nil {
				d.log.Warn("demo: schedule a simulated session", "session", e.GetLiveSessionId(), "err", err)
			}
			// The session's shelf, read now: divert runs in the simulation's
			// goroutine, right after the batch with the start was made.
			if _, err := d.reg.SetShelf(ctx, e.GetMerchantId(), e.GetRoomId(), d.sim.Lineup(e.GetRoomId())); err != nil {
				d.log.Warn("demo: shelf of a simulated session", "room", e.GetRoomId(), "err", err)
			}
		case tidev1.EventType_EVENT_TYPE_STREAM_END:
			kind = stream.KindDisconnect
		default:
			out = append(out, e)
			continue
		}
		sig := stream.Signal{ID: e.GetEventId(), Provider: "livesim", Kind: kind, Stream: e.GetLiveSessionId(),
			Sequence: e.GetLiveSessionId(), At: time.UnixMilli(e.GetTs()), Reason: "simulated"}
		if _, err := d.reg.Apply(ctx, sig); err != nil {
			d.log.Warn("demo: apply a simulated stream signal", "kind", kind, "session", e.GetLiveSessionId(), "err", err)
		}
	}
	return out
}

// schedule makes sure the session a stream start names is in the registry
// (sessions beyond the first day were not imported at start).
func (d *demoLive) schedule(ctx context.Context, e *tidev1.Event) error {
	at := time.UnixMilli(e.GetTs()).UTC()
	end := at.Add(4 * time.Hour)
	for _, w := range d.sim.Windows(e.GetRoomId(), at.Add(-time.Minute), at.Add(time.Minute)) {
		if w.LiveSessionID == e.GetLiveSessionId() {
			end = w.End
		}
	}
	_, err := d.reg.ImportSession(ctx, live.Session{ID: e.GetLiveSessionId(), RoomID: e.GetRoomId(), MerchantID: e.GetMerchantId(),
		ScheduledStart: at, ScheduledEnd: end})
	return err
}

// close releases the registry's connections.
func (d *demoLive) close() { d.reg.Close() }
