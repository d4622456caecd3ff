package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/ingest/outbox"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Change kinds in a product-changed event's attrs["change"].
const (
	ChangeCreated = "created"
	ChangeUpdated = "updated"
	ChangeDeleted = "deleted"
)

// productChange is one product a write created, updated or deleted.
type productChange struct {
	productID, merchantID, change string
}

// ProductChangedEvent is the event that announces a change of a product
// (ChangeCreated, ChangeUpdated or ChangeDeleted) committed at at. The
// outbox gives it its event_id when it is written.
func ProductChangedEvent(productID, merchantID, change string, at time.Time) *tidev1.Event {
	return &tidev1.Event{
		Type:       tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED,
		Ts:         at.UnixMilli(),
		MerchantId: merchantID,
		ProductId:  productID,
		Attrs:      map[string]string{"change": change},
	}
}

// announce writes one product-changed event per change to the shared
// outbox (ingest/outbox) through tx, the transaction that made the changes:
// they are published by the outbox relay if and only if tx commits, each
// product's in the order written.
func announce(ctx context.Context, tx pgx.Tx, changes []productChange) error {
	if len(changes) == 0 {
		return nil
	}
	now := time.Now()
	evs := make([]*tidev1.Event, len(changes))
	for i, c := range changes {
		evs[i] = ProductChangedEvent(c.productID, c.merchantID, c.change, now)
	}
	if err := outbox.Add(ctx, tx, evs...); err != nil {
		return fmt.Errorf("announce %d product changes: %w", len(changes), err)
	}
	return nil
}

// legacyOutboxLock serializes moveLegacyOutbox ("tide.lgcy" in ASCII).
const legacyOutboxLock int64 = 0x74696465_6c676379

// moveLegacyOutbox moves the product changes still pending in commerce's
// own outbox table (migration 00002, from before product changes went to the
// shared outbox) into the shared outbox as product-changed events, and drops
// the table, in one transaction: a change committed there is announced once
// more at worst (consumers are idempotent), never lost. A writer of an
// older version that still inserts there fails instead of writing where no
// relay reads. Without the table it does nothing.
func (s *Store) moveLegacyOutbox(ctx context.Context) error {
	return s.tx(ctx, true, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, legacyOutboxLock); err != nil {
			return fmt.Errorf("legacy outbox: %w", err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('outbox') IS NOT NULL`).Scan(&exists); err != nil {
			return fmt.Errorf("legacy outbox: %w", err)
		}
		if !exists {
			return nil
		}
		if _, err := tx.Exec(ctx, `LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("legacy outbox: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT product_id, merchant_id, change, created_at FROM outbox WHERE sent_at IS NULL ORDER BY id`)
		if err != nil {
			return fmt.Errorf("legacy outbox: %w", err)
		}
		evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tidev1.Event, error) {
			var c productChange
			var at time.Time
			err := row.Scan(&c.productID, &c.merchantID, &c.change, &at)
			return ProductChangedEvent(c.productID, c.merchantID, c.change, at), err
		})
		if err != nil {
			return fmt.Errorf("legacy outbox: %w", err)
		}
		for i := 0; i < len(evs); i += 1000 {
			if err := outbox.Add(ctx, tx, evs[i:min(i+1000, len(evs))]...); err != nil {
				return fmt.Errorf("legacy outbox: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `DROP TABLE outbox`); err != nil {
			return fmt.Errorf("legacy outbox: %w", err)
		}
		if len(evs) > 0 {
			s.log.Info("commerce: moved pending product changes to the shared outbox", "changes", len(evs))
		}
		return nil
	})
}
