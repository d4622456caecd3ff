package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/live"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Room change kinds in a room_changed event's attrs["change"].
const (
	ChangeRoom     = "room"     // title, cover, category or anchor
	ChangeSchedule = "schedule" // a session was scheduled
	ChangeShelf    = "shelf"    // the shelf or the product being explained
	ChangeState    = "state"    // a session changed state
)

// cause is why a transition happens: the trigger, a reason for people, and
// the provider callback (if any).
type cause struct {
	trigger  live.Trigger
	reason   string
	signalID string
	at       time.Time
}

// transition moves s (locked by the caller) as c says, in tx: the state
// decided by live.Transition, the session row, a transitions row, and the
// events (stream_start when it first goes on air, stream_end when it leaves
// the air, room_changed always). It updates s.
func (r *Registry) transition(ctx context.Context, tx pgx.Tx, s *live.Session, c cause) error {
	from := s.State
	to, err := live.Transition(from, c.trigger)
	if err != nil {
		return fmt.Errorf("session %s: %w", s.ID, err)
	}
	s.State, s.UpdatedAt = to, c.at
	switch {
	case to == live.StateLive && s.StartedAt.IsZero():
		s.StartedAt = c.at
	case to == live.StatePaused:
		s.PausedAt = c.at
	case !from.Over() && to.Over():
		s.EndedAt = c.at
	}
	if to != live.StatePaused {
		s.PausedAt = time.Time{}
	}
	if c.trigger == live.TriggerBan {
		s.BanReason = c.reason
	}
	if _, err := tx.Exec(ctx, `
		UPDATE live_sessions SET state = $2, started_at = $3, ended_at = $4, paused_at = $5, sequence = $6,
			ban_reason = $7, updated_at = $8 WHERE id = $1`,
		s.ID, string(to), nullTime(s.StartedAt), nullTime(s.EndedAt), nullTime(s.PausedAt), s.Sequence,
		s.BanReason, c.at); err != nil {
		return fmt.Errorf("live registry: update session %s: %w", s.ID, err)
	}
	var row int64
	if err := tx.QueryRow(ctx, `
		INSERT INTO live_session_transitions (session_id, from_state, to_state, trigger, reason, signal_id, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		s.ID, string(from), string(to), string(c.trigger), c.reason, c.signalID, c.at).Scan(&row); err != nil {
		return fmt.Errorf("live registry: record transition of %s: %w", s.ID, err)
	}
	id := "live-" + s.ID + "-" + strconv.FormatInt(row, 10)
	var events []*tidev1.Event
	if to.OnAir() && !from.OnAir() {
		events = append(events, sessionEvent(id+"-start", tidev1.EventType_EVENT_TYPE_STREAM_START, s, c))
	}
	if from.OnAir() && !to.OnAir() {
		events = append(events, sessionEvent(id+"-end", tidev1.EventType_EVENT_TYPE_STREAM_END, s, c))
	}
	ev := sessionEvent(id+"-room", tidev1.EventType_EVENT_TYPE_ROOM_CHANGED, s, c)
	ev.Attrs["change"], ev.Attrs["from"] = ChangeState, string(from)
	events = append(events, ev)
	if err := outbox.Add(ctx, tx, events...); err != nil {
		return err
	}
	if to == live.StateEnded {
		return r.replayIfRecorded(ctx, tx, s, c.at)
	}
	return nil
}

// replayIfRecorded makes a session that just ended replay_ready when its
// recording is already in: a provider may deliver the recording before the
// end (nginx-rtmp sends record_done and publish_done at once, on two
// connections), and the record signal, applied while the session was still
// on air, did not move it.
func (r *Registry) replayIfRecorded(ctx context.Context, tx pgx.Tx, s *live.Session, at time.Time) error {
	var recorded bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM live_replays WHERE session_id = $1)`, s.ID).Scan(&recorded); err != nil {
		return fmt.Errorf("live registry: replays of %s: %w", s.ID, err)
	}
	if !recorded {
		return nil
	}
	return r.transition(ctx, tx, s, cause{trigger: live.TriggerRecord, reason: "the recording arrived before the end", at: at})
}

func sessionEvent(id string, t tidev1.EventType, s *live.Session, c cause) *tidev1.Event {
	attrs := map[string]string{"state": string(s.State), "provider": s.Provider, "trigger": string(c.trigger)}
	if c.reason != "" {
		attrs["reason"] = c.reason
	}
	return &tidev1.Event{EventId: id, Type: t, Ts: c.at.UnixMilli(), MerchantId: s.MerchantID,
		RoomId: s.RoomID, LiveSessionId: s.ID, Attrs: attrs}
}

// roomChanged writes a room_changed event for a change that is not a
// session transition.
func roomChanged(ctx context.Context, tx pgx.Tx, roomID, merchantID, sessionID, change string, at time.Time) error {
	return outbox.Add(ctx, tx, &tidev1.Event{Type: tidev1.EventType_EVENT_TYPE_ROOM_CHANGED, Ts: at.UnixMilli(),
		MerchantId: merchantID, RoomId: roomID, LiveSessionId: sessionID, Attrs: map[string]string{"change": change}})
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

const sessionColumns = `id, room_id, merchant_id, scheduled_start, scheduled_end, started_at, ended_at, state,
	provider, stream, sequence, paused_at, ban_reason, updated_at`

func scanSession(row pgx.Row) (live.Session, error) {
	var s live.Session
	var started, ended, paused *time.Time
	var state string
	err := row.Scan(&s.ID, &s.RoomID, &s.MerchantID, &s.ScheduledStart, &s.ScheduledEnd, &started, &ended, &state,
		&s.Provider, &s.Stream, &s.Sequence, &paused, &s.BanReason, &s.UpdatedAt)
	if err != nil {
		return s, err
	}
	s.State = live.State(state)
	s.ScheduledStart, s.ScheduledEnd, s.UpdatedAt = s.ScheduledStart.UTC(), s.ScheduledEnd.UTC(), s.UpdatedAt.UTC()
	for _, p := range []struct {
		src *time.Time
		dst *time.Time
	}{{started, &s.StartedAt}, {ended, &s.EndedAt}, {paused, &s.PausedAt}} {
		if p.src != nil {
			*p.dst = p.src.UTC()
		}
	}
	return s, nil
}
