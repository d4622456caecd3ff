// Package outbox is the generic transactional outbox of tide Events in
// PostgreSQL: a service that changes state (a live room, an order) writes the
// Events that announce the change with Add, in the same transaction as the
// change, and a Relay publishes them to the Kafka events topic and marks them
// sent. A committed change is therefore always announced, and nothing is
// announced that did not commit.
//
// Delivery is at-least-once with stable event ids: a relay that crashes
// between the broker's acknowledgement and its commit publishes the same
// rows again, byte for byte, and consumers deduplicate on event_id. Events of
// one Kafka key (ingest.Key: the user, device, room or product) are published
// in the order they were added, also with several relays on one database.
//
// The schema is created by Migrate (goose migrations embedded in the
// binary, versions tracked in outbox_goose_version).
package outbox

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable records which outbox migrations were applied, apart from
// the other packages' migrations in the same database.
const MigrationsTable = "outbox_goose_version"

// NotifyChannel is the PostgreSQL NOTIFY channel Add signals, so relays
// publish at once instead of at their next poll.
const NotifyChannel = "tide_event_outbox"

// TypeHeader is the Kafka record header naming the event type
// (ingest.TypeName), so consumers of one type skip the others undecoded
// (search/follow reads it for product_changed).
const TypeHeader = "tide-event-type"

// migrationLockID serializes concurrent Migrate calls ("tide.outbx" in ASCII).
const migrationLockID int64 = 0x74696465_6f7574

// Execer is what Add writes through: a pgx.Tx (the caller's transaction).
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Add writes events to the outbox through tx, the caller's transaction, so
// they are published if and only if tx commits. An event without an
// event_id gets a random one and an event without received_at gets now;
// both are set on the event itself, and the stored bytes are what the relay
// publishes. Add also notifies the relays, which hear it at commit.
func Add(ctx context.Context, tx Execer, events ...*tidev1.Event) error {
	if len(events) == 0 {
		return nil
	}
	now := time.Now().UnixMilli()
	ids := make([]string, len(events))
	types := make([]string, len(events))
	keys := make([][]byte, len(events))
	payloads := make([][]byte, len(events))
	for i, e := range events {
		if e.GetType() == tidev1.EventType_EVENT_TYPE_UNSPECIFIED {
			return fmt.Errorf("outbox: event %d has no type", i)
		}
		if e.EventId == "" {
			id, err := randomID()
			if err != nil {
				return err
			}
			e.EventId = id
		}
		if e.ReceivedAt == 0 {
			e.ReceivedAt = now
		}
		v, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
		if err != nil {
			return fmt.Errorf("outbox: encode event %s: %w", e.EventId, err)
		}
		ids[i], types[i], keys[i], payloads[i] = e.EventId, ingest.TypeName(e.GetType()), ingest.Key(e), v
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO event_outbox (event_id, event_type, key, payload)
		SELECT a, b, c, d FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[]) WITH ORDINALITY AS u(a, b, c, d, n)
		ORDER BY n`, ids, types, keys, payloads); err != nil {
		return fmt.Errorf("outbox: add %d events: %w", len(events), err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, NotifyChannel); err != nil {
		return fmt.Errorf("outbox: notify relays: %w", err)
	}
	return nil
}

func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("outbox: event id: %w", err)
	}
	return "ob-" + hex.EncodeToString(b[:]), nil
}

// Migrate applies the outbox's pending schema migrations on pool.
// Concurrent calls from several processes are serialized by an advisory lock.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("outbox migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("outbox migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(MigrationsTable), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("outbox migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("outbox migrations: %w", err)
	}
	for _, r := range res {
		log.Info("outbox migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}

// Pending is the number of outbox rows not yet published.
func Pending(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var n int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM event_outbox WHERE sent_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox: pending: %w", err)
	}
	return n, nil
}

// PruneSent deletes rows that were sent more than olderThan ago.
func PruneSent(ctx context.Context, pool *pgxpool.Pool, olderThan time.Duration) (int64, error) {
	tag, err := pool.Exec(ctx, `DELETE FROM event_outbox WHERE sent_at < $1`, time.Now().Add(-olderThan))
	if err != nil {
		return 0, fmt.Errorf("outbox: prune: %w", err)
	}
	return tag.RowsAffected(), nil
}

// errNoBrokers is returned by NewKafkaClient without seed brokers.
var errNoBrokers = errors.New("outbox: no Kafka brokers given")
