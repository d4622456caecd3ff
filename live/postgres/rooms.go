package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/live"
)

const roomColumns = `id, merchant_id, title, cover_url, category, anchor_name, created_at, updated_at`

func scanRoom(row pgx.Row) (live.Room, error) {
	var m live.Room
	err := row.Scan(&m.ID, &m.MerchantID, &m.Title, &m.CoverURL, &m.Category, &m.AnchorName, &m.CreatedAt, &m.UpdatedAt)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, err
}

// CreateRoom stores a new room of m.MerchantID (its ID is assigned) and
// announces it.
func (r *Registry) CreateRoom(ctx context.Context, m live.Room) (live.Room, error) {
	if m.MerchantID == "" {
		return m, live.Invalid("merchant_id", "is empty")
	}
	if err := m.Validate(); err != nil {
		return m, err
	}
	id, err := newID("room_")
	if err != nil {
		return m, err
	}
	m.ID = id
	m.CreatedAt = r.now().UTC()
	m.UpdatedAt = m.CreatedAt
	err = r.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO live_rooms (`+roomColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			m.ID, m.MerchantID, m.Title, m.CoverURL, m.Category, m.AnchorName, m.CreatedAt, m.UpdatedAt); err != nil {
			return fmt.Errorf("live registry: create room: %w", err)
		}
		return roomChanged(ctx, tx, m.ID, m.MerchantID, "", ChangeRoom, m.UpdatedAt)
	})
	return m, err
}

// UpdateRoom replaces the title, cover, category and anchor of a room that
// merchantID owns.
func (r *Registry) UpdateRoom(ctx context.Context, merchantID string, m live.Room) (live.Room, error) {
	if err := m.Validate(); err != nil {
		return m, err
	}
	var out live.Room
	err := r.tx(ctx, func(tx pgx.Tx) error {
		if _, err := lockRoom(ctx, tx, merchantID, m.ID); err != nil {
			return err
		}
		var err error
		out, err = scanRoom(tx.QueryRow(ctx, `UPDATE live_rooms SET title = $2, cover_url = $3, category = $4,
			anchor_name = $5, updated_at = $6 WHERE id = $1 RETURNING `+roomColumns,
			m.ID, m.Title, m.CoverURL, m.Category, m.AnchorName, r.now().UTC()))
		if err != nil {
			return fmt.Errorf("live registry: update room %s: %w", m.ID, err)
		}
		return roomChanged(ctx, tx, out.ID, out.MerchantID, "", ChangeRoom, out.UpdatedAt)
	})
	return out, err
}

// lockRoom locks a room and checks merchantID owns it: live.ErrNotFound or
// live.ErrPermission otherwise.
func lockRoom(ctx context.Context, tx pgx.Tx, merchantID, roomID string) (live.Room, error) {
	m, err := scanRoom(tx.QueryRow(ctx, `SELECT `+roomColumns+` FROM live_rooms WHERE id = $1 FOR UPDATE`, roomID))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return m, fmt.Errorf("room %q: %w", roomID, live.ErrNotFound)
	case err != nil:
		return m, fmt.Errorf("live registry: room %s: %w", roomID, err)
	case m.MerchantID != merchantID:
		return m, fmt.Errorf("room %q belongs to another merchant: %w", roomID, live.ErrPermission)
	}
	return m, nil
}

// lockSession locks a session and checks merchantID owns it.
func lockSession(ctx context.Context, tx pgx.Tx, merchantID, sessionID string) (live.Session, error) {
	s, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionColumns+` FROM live_sessions WHERE id = $1 FOR UPDATE`, sessionID))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return s, fmt.Errorf("session %q: %w", sessionID, live.ErrNotFound)
	case err != nil:
		return s, fmt.Errorf("live registry: session %s: %w", sessionID, err)
	case merchantID != "" && s.MerchantID != merchantID:
		return s, fmt.Errorf("session %q belongs to another merchant: %w", sessionID, live.ErrPermission)
	}
	return s, nil
}

// Room returns a room.
func (r *Registry) Room(ctx context.Context, id string) (live.Room, error) {
	m, err := scanRoom(r.pool.QueryRow(ctx, `SELECT `+roomColumns+` FROM live_rooms WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, fmt.Errorf("room %q: %w", id, live.ErrNotFound)
	}
	return m, err
}

// Rooms returns the rooms of merchantID, or every room for "".
func (r *Registry) Rooms(ctx context.Context, merchantID string) ([]live.Room, error) {
	rows, err := r.pool.Query(ctx, `SELECT `+roomColumns+` FROM live_rooms WHERE $1 = '' OR merchant_id = $1 ORDER BY id`, merchantID)
	if err != nil {
		return nil, fmt.Errorf("live registry: rooms: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (live.Room, error) { return scanRoom(row) })
}

// ScheduleSession announces a session (预告) of a room merchantID owns, in
// the window [start, end); its stream is pushed to the registry's provider.
func (r *Registry) ScheduleSession(ctx context.Context, merchantID, roomID string, start, end time.Time) (live.Session, error) {
	now := r.now().UTC()
	if err := live.ValidateWindow(now, start, end); err != nil {
		return live.Session{}, err
	}
	id, err := newID("ls_")
	if err != nil {
		return live.Session{}, err
	}
	// PostgreSQL keeps microseconds: the session returned is the one stored.
	s := live.Session{ID: id, RoomID: roomID, MerchantID: merchantID,
		ScheduledStart: start.UTC().Truncate(time.Microsecond), ScheduledEnd: end.UTC().Truncate(time.Microsecond),
		State: live.StateScheduled, Provider: r.providerName(), Stream: id, UpdatedAt: now}
	err = r.tx(ctx, func(tx pgx.Tx) error {
		if _, err := lockRoom(ctx, tx, merchantID, roomID); err != nil {
			return err
		}
		var overlap string
		err := tx.QueryRow(ctx, `SELECT id FROM live_sessions WHERE room_id = $1 AND state IN ('scheduled', 'live', 'paused')
			AND scheduled_start < $3 AND scheduled_end > $2 LIMIT 1`, roomID, s.ScheduledStart, s.ScheduledEnd).Scan(&overlap)
		if err == nil {
			return live.Invalid("start_time", "overlaps session %s of the same room", overlap)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("live registry: overlap check: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO live_sessions (id, room_id, merchant_id, scheduled_start, scheduled_end,
			state, provider, stream, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			s.ID, s.RoomID, s.MerchantID, s.ScheduledStart, s.ScheduledEnd, string(s.State), s.Provider, s.Stream, now); err != nil {
			return fmt.Errorf("live registry: schedule: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO live_session_transitions (session_id, from_state, to_state, trigger, at)
			VALUES ($1, '', 'scheduled', 'schedule', $2)`, s.ID, now); err != nil {
			return fmt.Errorf("live registry: record schedule: %w", err)
		}
		return roomChanged(ctx, tx, roomID, merchantID, s.ID, ChangeSchedule, now)
	})
	return s, err
}

// Session returns a session.
func (r *Registry) Session(ctx context.Context, id string) (live.Session, error) {
	s, err := scanSession(r.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM live_sessions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, fmt.Errorf("session %q: %w", id, live.ErrNotFound)
	}
	return s, err
}

// Sessions returns a room's sessions, by scheduled start.
func (r *Registry) Sessions(ctx context.Context, roomID string) ([]live.Session, error) {
	return r.sessions(ctx, `SELECT `+sessionColumns+` FROM live_sessions WHERE room_id = $1 ORDER BY scheduled_start, id`, roomID)
}

// Active returns every session that is scheduled, live or paused, by
// scheduled start: what the feeds show.
func (r *Registry) Active(ctx context.Context) ([]live.Session, error) {
	return r.sessions(ctx, `SELECT `+sessionColumns+` FROM live_sessions
		WHERE state IN ('scheduled', 'live', 'paused') ORDER BY scheduled_start, id`)
}

// Upcoming returns the scheduled sessions starting in [from, to), by start.
func (r *Registry) Upcoming(ctx context.Context, from, to time.Time) ([]live.Session, error) {
	return r.sessions(ctx, `SELECT `+sessionColumns+` FROM live_sessions WHERE state = 'scheduled'
		AND scheduled_start >= $1 AND scheduled_start < $2 ORDER BY scheduled_start, id`, from, to)
}

func (r *Registry) sessions(ctx context.Context, q string, args ...any) ([]live.Session, error) {
	rows, err := r.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("live registry: sessions: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (live.Session, error) { return scanSession(row) })
}

// CancelSession cancels a scheduled session merchantID owns.
func (r *Registry) CancelSession(ctx context.Context, merchantID, sessionID string) (live.Session, error) {
	return r.merchantTransition(ctx, merchantID, sessionID, live.TriggerCancel, "cancelled by the merchant")
}

// EndSession ends a live or paused session merchantID owns, and drops its
// push through the provider.
func (r *Registry) EndSession(ctx context.Context, merchantID, sessionID string) (live.Session, error) {
	s, err := r.merchantTransition(ctx, merchantID, sessionID, live.TriggerStop, "ended by the merchant")
	if err == nil && r.provider != nil {
		if err := r.provider.Drop(ctx, s.Stream); err != nil {
			r.log.Warn("live registry: drop the push of an ended session", "session", s.ID, "err", err)
		}
	}
	return s, err
}

func (r *Registry) merchantTransition(ctx context.Context, merchantID, sessionID string, t live.Trigger, reason string) (live.Session, error) {
	var s live.Session
	err := r.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if s, err = lockSession(ctx, tx, merchantID, sessionID); err != nil {
			return err
		}
		return r.transition(ctx, tx, &s, cause{trigger: t, reason: reason, at: r.now().UTC()})
	})
	return s, err
}

// Ban bans a session (an operator's or a moderation verdict): it leaves the
// air and the provider forbids its stream.
func (r *Registry) Ban(ctx context.Context, sessionID, reason string) (live.Session, error) {
	var s live.Session
	err := r.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if s, err = lockSession(ctx, tx, "", sessionID); err != nil {
			return err
		}
		return r.transition(ctx, tx, &s, cause{trigger: live.TriggerBan, reason: reason, at: r.now().UTC()})
	})
	if err == nil {
		r.forbid(ctx, s, reason)
	}
	return s, err
}

func (r *Registry) forbid(ctx context.Context, s live.Session, reason string) {
	if r.provider == nil {
		return
	}
	if err := r.provider.Forbid(ctx, s.Stream, reason); err != nil {
		r.log.Error("live registry: forbid the stream of a banned session", "session", s.ID, "err", err)
	}
}
