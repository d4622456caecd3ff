package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/live"
)

// ImportRoom creates or replaces a room with the ID it carries, for imports
// and the simulator (merchants use CreateRoom, which assigns the ID).
func (r *Registry) ImportRoom(ctx context.Context, m live.Room) error {
	if m.ID == "" {
		return live.Invalid("room_id", "is empty")
	}
	if m.MerchantID == "" {
		return live.Invalid("merchant_id", "is empty")
	}
	if err := m.Validate(); err != nil {
		return err
	}
	now := r.now().UTC()
	return r.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO live_rooms (`+roomColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
			ON CONFLICT (id) DO UPDATE SET merchant_id = $2, title = $3, cover_url = $4, category = $5, anchor_name = $6, updated_at = $7`,
			m.ID, m.MerchantID, m.Title, m.CoverURL, m.Category, m.AnchorName, now); err != nil {
			return fmt.Errorf("live registry: import room %s: %w", m.ID, err)
		}
		return roomChanged(ctx, tx, m.ID, m.MerchantID, "", ChangeRoom, now)
	})
}

// ImportSession schedules a session with the ID, window and room it
// carries (its stream is its ID), without the window checks a merchant's
// ScheduleSession gets: the simulator's and imported schedules may start in
// the past. A session that exists already is left as it is; the result
// reports whether it was created.
func (r *Registry) ImportSession(ctx context.Context, s live.Session) (bool, error) {
	if s.ID == "" || s.RoomID == "" {
		return false, live.Invalid("session_id", "a session needs its id and room")
	}
	if !s.ScheduledEnd.After(s.ScheduledStart) {
		return false, live.Invalid("end_time", "is not after start_time")
	}
	now := r.now().UTC()
	created := false
	err := r.tx(ctx, func(tx pgx.Tx) error {
		room, err := lockRoom(ctx, tx, s.MerchantID, s.RoomID)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO live_sessions (id, room_id, merchant_id, scheduled_start, scheduled_end,
			state, provider, stream, updated_at) VALUES ($1, $2, $3, $4, $5, 'scheduled', $6, $1, $7) ON CONFLICT DO NOTHING`,
			s.ID, room.ID, room.MerchantID, s.ScheduledStart.UTC(), s.ScheduledEnd.UTC(), r.providerName(), now)
		if err != nil {
			return fmt.Errorf("live registry: import session %s: %w", s.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		created = true
		if _, err := tx.Exec(ctx, `INSERT INTO live_session_transitions (session_id, from_state, to_state, trigger, at)
			VALUES ($1, '', 'scheduled', 'import', $2)`, s.ID, now); err != nil {
			return fmt.Errorf("live registry: record import of %s: %w", s.ID, err)
		}
		return roomChanged(ctx, tx, room.ID, room.MerchantID, s.ID, ChangeSchedule, now)
	})
	return created, err
}
