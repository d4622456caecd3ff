package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/live"
	"github.com/tide-live/tide/live/stream"
)

// The registry is the sink of every provider's verified callbacks.
var _ stream.Sink = (*Registry)(nil)

// Apply applies a verified provider signal to the session its stream
// belongs to, once per (provider, Signal.ID): a retried callback gets the
// first answer and changes nothing. A publish of a scheduled or paused
// session puts it on air; an unknown stream, or a session banned,
// cancelled or over, is refused. A disconnect of another push than the one
// on air is ignored, and a publish of a push already disconnected (the
// callbacks came out of order) changes nothing. A blip disconnect pauses
// the session (ExpirePaused ends it after the grace period), any other
// ends it. A recording makes an ended session replay_ready; a Block verdict
// bans the session and forbids its stream through the provider; a Review
// verdict is queued for an operator (Reviews).
func (r *Registry) Apply(ctx context.Context, sig stream.Signal) (stream.Decision, error) {
	if sig.ID == "" || sig.Stream == "" {
		return stream.Decision{}, fmt.Errorf("live registry: signal without id or stream: %w", live.ErrInvalid)
	}
	at := sig.At.UTC()
	if sig.At.IsZero() {
		at = r.now().UTC()
	}
	var d stream.Decision
	var banned *live.Session
	err := r.tx(ctx, func(tx pgx.Tx) error {
		var allow bool
		var reason string
		err := tx.QueryRow(ctx, `SELECT allow, reason FROM live_applied_signals WHERE provider = $1 AND id = $2`,
			sig.Provider, sig.ID).Scan(&allow, &reason)
		if err == nil {
			d = stream.Decision{Allow: allow, Reason: reason}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("live registry: signal lookup: %w", err)
		}
		s, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionColumns+` FROM live_sessions WHERE stream = $1 FOR UPDATE`, sig.Stream))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			d = stream.Decision{Allow: false, Reason: "unknown stream"}
		case err != nil:
			return fmt.Errorf("live registry: session of stream %s: %w", sig.Stream, err)
		default:
			if d, err = r.apply(ctx, tx, &s, sig, at); err != nil {
				return err
			}
			if s.State == live.StateBanned && sig.Kind == stream.KindModeration {
				banned = &s
			}
		}
		// ON CONFLICT: a concurrent retry of the same signal lost the race on
		// the session lock; the first to commit wins and this one rolls back.
		tag, err := tx.Exec(ctx, `INSERT INTO live_applied_signals (provider, id, kind, stream, sequence, allow, reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			sig.Provider, sig.ID, sig.Kind.String(), sig.Stream, sig.Sequence, d.Allow, d.Reason)
		if err != nil {
			return fmt.Errorf("live registry: record signal: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errRetryRace
		}
		return nil
	})
	if errors.Is(err, errRetryRace) {
		return r.Apply(ctx, sig)
	}
	if err != nil {
		return stream.Decision{}, err
	}
	if banned != nil {
		r.forbid(ctx, *banned, banned.BanReason)
	}
	r.log.Debug("live signal applied", slog.String("provider", sig.Provider), slog.String("kind", sig.Kind.String()),
		slog.String("stream", sig.Stream), slog.Bool("allow", d.Allow), slog.String("reason", d.Reason))
	return d, nil
}

var errRetryRace = errors.New("signal applied concurrently")

func (r *Registry) apply(ctx context.Context, tx pgx.Tx, s *live.Session, sig stream.Signal, at time.Time) (stream.Decision, error) {
	allow := stream.Decision{Allow: true}
	refuse := func(why string) (stream.Decision, error) { return stream.Decision{Allow: false, Reason: why}, nil }
	c := cause{reason: sig.Reason, signalID: sig.Provider + "/" + sig.ID, at: at}
	switch sig.Kind {
	case stream.KindPublish:
		switch {
		case s.State.Over():
			return refuse("session is " + string(s.State))
		case sig.Sequence != "" && r.pushEnded(ctx, tx, sig):
			return refuse("this push already disconnected") // its disconnect arrived first
		case s.State == live.StateLive:
			if sig.Sequence != s.Sequence { // a new push replaced the old one
				s.Sequence = sig.Sequence
				if _, err := tx.Exec(ctx, `UPDATE live_sessions SET sequence = $2 WHERE id = $1`, s.ID, s.Sequence); err != nil {
					return allow, fmt.Errorf("live registry: sequence: %w", err)
				}
			}
			return allow, nil
		}
		s.Sequence = sig.Sequence
		c.trigger = live.TriggerPublish
		return allow, r.transition(ctx, tx, s, c)
	case stream.KindDisconnect:
		if !s.State.OnAir() || (sig.Sequence != "" && s.Sequence != "" && sig.Sequence != s.Sequence) {
			return allow, nil // not on air, or an older push: nothing to end
		}
		c.trigger = live.TriggerStop
		if sig.Blip {
			if s.State == live.StatePaused {
				return allow, nil
			}
			c.trigger = live.TriggerBlip
		}
		return allow, r.transition(ctx, tx, s, c)
	case stream.KindUpdate:
		if !s.State.OnAir() {
			return refuse("session is " + string(s.State))
		}
		return allow, nil
	case stream.KindRecord:
		if s.State == live.StateBanned || s.State == live.StateCancelled || s.State == live.StateScheduled {
			return allow, nil // no replay for these
		}
		if sig.ReplayURL == "" {
			return refuse("record without a replay URL")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO live_replays (session_id, url, duration_ms, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, s.ID, sig.ReplayURL, sig.ReplayDuration.Milliseconds(), at); err != nil {
			return allow, fmt.Errorf("live registry: replay: %w", err)
		}
		if s.State == live.StateEnded {
			c.trigger = live.TriggerRecord
			return allow, r.transition(ctx, tx, s, c)
		}
		return allow, nil
	case stream.KindModeration:
		switch sig.Verdict {
		case stream.VerdictBlock:
			if s.State == live.StateBanned || s.State == live.StateCancelled {
				return refuse("session is " + string(s.State))
			}
			c.trigger, c.reason = live.TriggerBan, "moderation: "+sig.Label
			if err := r.transition(ctx, tx, s, c); err != nil {
				return allow, err
			}
			return refuse(c.reason)
		case stream.VerdictReview:
			if _, err := tx.Exec(ctx, `INSERT INTO live_reviews (session_id, room_id, provider, label, score, at)
				VALUES ($1, $2, $3, $4, $5, $6)`, s.ID, s.RoomID, sig.Provider, sig.Label, sig.Score, at); err != nil {
				return allow, fmt.Errorf("live registry: queue review: %w", err)
			}
		}
		return allow, nil
	}
	return refuse("unknown signal kind")
}

// pushEnded reports whether a disconnect of the push sig names was
// already applied.
func (r *Registry) pushEnded(ctx context.Context, tx pgx.Tx, sig stream.Signal) bool {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM live_applied_signals WHERE stream = $1 AND sequence = $2 AND kind = $3 LIMIT 1`,
		sig.Stream, sig.Sequence, stream.KindDisconnect.String()).Scan(&one)
	return err == nil
}

// ExpirePaused ends the sessions paused for longer than the grace period
// and reports how many it ended.
func (r *Registry) ExpirePaused(ctx context.Context) (int, error) {
	now := r.now().UTC()
	return r.expire(ctx, "paused sessions", `state = 'paused' AND paused_at <= $1 ORDER BY paused_at`, now.Add(-r.grace),
		func(live.Session) cause {
			return cause{trigger: live.TriggerGraceExpired, reason: "the push did not come back within " + r.grace.String(), at: now}
		})
}

// ExpireScheduled expires the scheduled sessions (预告) whose window ended
// without a push (WeChat's 107 已过期) and reports how many it expired.
func (r *Registry) ExpireScheduled(ctx context.Context) (int, error) {
	now := r.now().UTC()
	return r.expire(ctx, "overdue sessions", `state = 'scheduled' AND scheduled_end <= $1 ORDER BY scheduled_end`, now,
		func(s live.Session) cause {
			return cause{trigger: live.TriggerWindowPassed, reason: "no push before the scheduled end " +
				s.ScheduledEnd.Format(time.RFC3339), at: now}
		})
}

// expire moves the sessions that match where (with $1 = arg), up to 500 a
// call and skipping those another transaction holds, as why says, and
// reports how many it moved.
func (r *Registry) expire(ctx context.Context, what, where string, arg time.Time, why func(live.Session) cause) (int, error) {
	n := 0
	err := r.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+sessionColumns+` FROM live_sessions WHERE `+where+`
			LIMIT 500 FOR UPDATE SKIP LOCKED`, arg)
		if err != nil {
			return fmt.Errorf("live registry: %s: %w", what, err)
		}
		ss, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (live.Session, error) { return scanSession(row) })
		if err != nil {
			return fmt.Errorf("live registry: %s: %w", what, err)
		}
		for i := range ss {
			if err := r.transition(ctx, tx, &ss[i], why(ss[i])); err != nil {
				return err
			}
		}
		n = len(ss)
		return nil
	})
	return n, err
}

// RunExpiry is the registry's periodic job: every interval until ctx ends it
// ends paused sessions whose grace period passed (ExpirePaused) and expires
// 预告 whose window passed without a push (ExpireScheduled).
func (r *Registry) RunExpiry(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := r.ExpirePaused(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("live registry: expire paused sessions", "err", err)
		} else if n > 0 {
			r.log.Info("live registry: paused sessions ended after the grace period", "sessions", n)
		}
		if n, err := r.ExpireScheduled(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("live registry: expire scheduled sessions", "err", err)
		} else if n > 0 {
			r.log.Info("live registry: scheduled sessions expired without a push", "sessions", n)
		}
	}
}
