package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/live"
)

// SetShelf replaces the shelf (小黄车) of a room merchantID owns with
// productIDs, in that order. The product being explained stays so if it is
// still on the shelf. The caller checks the products exist and are the
// merchant's (the registry does not hold the catalog).
func (r *Registry) SetShelf(ctx context.Context, merchantID, roomID string, productIDs []string) ([]live.ShelfLine, error) {
	if err := live.ValidateShelf(productIDs); err != nil {
		return nil, err
	}
	var lines []live.ShelfLine
	err := r.tx(ctx, func(tx pgx.Tx) error {
		if _, err := lockRoom(ctx, tx, merchantID, roomID); err != nil {
			return err
		}
		var explaining string
		_ = tx.QueryRow(ctx, `SELECT product_id FROM live_shelf_lines WHERE room_id = $1 AND explaining`, roomID).Scan(&explaining)
		if _, err := tx.Exec(ctx, `DELETE FROM live_shelf_lines WHERE room_id = $1`, roomID); err != nil {
			return fmt.Errorf("live registry: clear shelf: %w", err)
		}
		for i, p := range productIDs {
			l := live.ShelfLine{RoomID: roomID, ProductID: p, Position: i, Explaining: p == explaining}
			if _, err := tx.Exec(ctx, `INSERT INTO live_shelf_lines (room_id, product_id, position, explaining)
				VALUES ($1, $2, $3, $4)`, l.RoomID, l.ProductID, l.Position, l.Explaining); err != nil {
				return fmt.Errorf("live registry: shelf line: %w", err)
			}
			lines = append(lines, l)
		}
		return roomChanged(ctx, tx, roomID, merchantID, "", ChangeShelf, r.now().UTC())
	})
	return lines, err
}

// SetExplaining marks productID as the product being explained (讲解中) in a
// room merchantID owns; "" clears it. The product must be on the shelf
// (live.ErrPrecondition otherwise).
func (r *Registry) SetExplaining(ctx context.Context, merchantID, roomID, productID string) error {
	return r.tx(ctx, func(tx pgx.Tx) error {
		if _, err := lockRoom(ctx, tx, merchantID, roomID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE live_shelf_lines SET explaining = false WHERE room_id = $1 AND explaining`, roomID); err != nil {
			return fmt.Errorf("live registry: explaining: %w", err)
		}
		if productID != "" {
			tag, err := tx.Exec(ctx, `UPDATE live_shelf_lines SET explaining = true WHERE room_id = $1 AND product_id = $2`, roomID, productID)
			if err != nil {
				return fmt.Errorf("live registry: explaining: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("product_id: %q is not on the room's shelf: %w", productID, live.ErrPrecondition)
			}
		}
		return roomChanged(ctx, tx, roomID, merchantID, "", ChangeShelf, r.now().UTC())
	})
}

// Shelf returns a room's shelf in the merchant's order.
func (r *Registry) Shelf(ctx context.Context, roomID string) ([]live.ShelfLine, error) {
	rows, err := r.pool.Query(ctx, `SELECT room_id, product_id, position, explaining FROM live_shelf_lines
		WHERE room_id = $1 ORDER BY position`, roomID)
	if err != nil {
		return nil, fmt.Errorf("live registry: shelf: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (live.ShelfLine, error) {
		var l live.ShelfLine
		err := row.Scan(&l.RoomID, &l.ProductID, &l.Position, &l.Explaining)
		return l, err
	})
}

// Replays returns the recordings of a room's sessions, newest first,
// leaving out banned sessions.
func (r *Registry) Replays(ctx context.Context, roomID string) ([]live.Replay, error) {
	rows, err := r.pool.Query(ctx, `SELECT p.session_id, p.url, p.duration_ms, p.created_at FROM live_replays p
		JOIN live_sessions s ON s.id = p.session_id
		WHERE s.room_id = $1 AND s.state = 'replay_ready' ORDER BY p.created_at DESC`, roomID)
	if err != nil {
		return nil, fmt.Errorf("live registry: replays: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (live.Replay, error) {
		var p live.Replay
		var ms int64
		err := row.Scan(&p.SessionID, &p.URL, &ms, &p.CreatedAt)
		p.Duration, p.CreatedAt = time.Duration(ms)*time.Millisecond, p.CreatedAt.UTC()
		return p, err
	})
}

// Reviews returns the moderation verdicts waiting for an operator, oldest
// first.
func (r *Registry) Reviews(ctx context.Context) ([]live.Review, error) {
	rows, err := r.pool.Query(ctx, `SELECT id, session_id, room_id, provider, label, score, at FROM live_reviews
		WHERE resolved_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("live registry: reviews: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (live.Review, error) {
		var v live.Review
		err := row.Scan(&v.ID, &v.SessionID, &v.RoomID, &v.Provider, &v.Label, &v.Score, &v.At)
		v.At = v.At.UTC()
		return v, err
	})
}

// Shelves returns every room's shelf, in the merchants' order, by room.
func (r *Registry) Shelves(ctx context.Context) (map[string][]live.ShelfLine, error) {
	rows, err := r.pool.Query(ctx, `SELECT room_id, product_id, position, explaining FROM live_shelf_lines ORDER BY room_id, position`)
	if err != nil {
		return nil, fmt.Errorf("live registry: shelves: %w", err)
	}
	lines, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (live.ShelfLine, error) {
		var l live.ShelfLine
		err := row.Scan(&l.RoomID, &l.ProductID, &l.Position, &l.Explaining)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("live registry: shelves: %w", err)
	}
	out := map[string][]live.ShelfLine{}
	for _, l := range lines {
		out[l.RoomID] = append(out[l.RoomID], l)
	}
	return out, nil
}
