// Package postgres is the room registry in PostgreSQL: rooms, sessions and
// every session transition, shelves, replays and moderation reviews. Every
// change writes its tide Events (stream_start, stream_end, room_changed) to
// the shared outbox (ingest/outbox) in the same transaction. The Registry is
// the stream.Sink that applies providers' verified signals.
//
// The schema is created by Migrate (goose migrations embedded in the binary,
// versions tracked in live_goose_version; the outbox's own migrations run
// too).
package postgres

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/live"
	"github.com/tide-live/tide/live/stream"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable records which registry migrations were applied.
const MigrationsTable = "live_goose_version"

// migrationLockID serializes concurrent Migrate calls ("tide.live" in ASCII).
const migrationLockID int64 = 0x74696465_2e6c69

// Registry is the room registry. It is safe for concurrent use.
type Registry struct {
	pool     *pgxpool.Pool
	owned    bool
	provider stream.Provider
	grace    time.Duration
	now      func() time.Time
	log      *slog.Logger
}

// Option configures a Registry.
type Option func(*Registry)

// WithProvider sets the streaming cloud new sessions are pushed to, and
// that bans are enforced through (Forbid). Without one, sessions name the
// provider "none" and bans only change state.
func WithProvider(p stream.Provider) Option { return func(r *Registry) { r.provider = p } }

// WithGrace sets how long a paused session waits for its push to come back
// before ExpirePaused ends it (default live.DefaultGrace).
func WithGrace(d time.Duration) Option { return func(r *Registry) { r.grace = d } }

// WithClock sets the clock (default time.Now), for tests.
func WithClock(now func() time.Time) Option { return func(r *Registry) { r.now = now } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *Registry) { r.log = l } }

// Open connects to the database at url. Close releases the connections.
func Open(ctx context.Context, url string, opts ...Option) (*Registry, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("live registry: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("live registry: %w", err)
	}
	r := New(pool, opts...)
	r.owned = true
	return r, nil
}

// New wraps an existing pool; Close leaves it open.
func New(pool *pgxpool.Pool, opts ...Option) *Registry {
	r := &Registry{pool: pool, grace: live.DefaultGrace, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Pool is the underlying connection pool (the outbox relay runs on it).
func (r *Registry) Pool() *pgxpool.Pool { return r.pool }

// Provider is the streaming cloud sessions are pushed to, or nil.
func (r *Registry) Provider() stream.Provider { return r.provider }

// Grace is how long a paused session waits for its push.
func (r *Registry) Grace() time.Duration { return r.grace }

// Close closes the pool when Open made it.
func (r *Registry) Close() {
	if r.owned {
		r.pool.Close()
	}
}

// Migrate applies the outbox's and the registry's pending migrations.
// Concurrent calls from several processes are serialized by advisory locks.
func (r *Registry) Migrate(ctx context.Context) error {
	if err := outbox.Migrate(ctx, r.pool, r.log); err != nil {
		return err
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("live migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("live migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(r.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(MigrationsTable), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("live migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("live migrations: %w", err)
	}
	for _, m := range res {
		r.log.Info("live migration applied", "version", m.Source.Version, "file", m.Source.Path, "took", m.Duration)
	}
	return nil
}

// tx runs f in a transaction and commits it.
func (r *Registry) tx(ctx context.Context, f func(pgx.Tx) error) error {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("live registry: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("live registry: commit: %w", err)
	}
	return nil
}

func (r *Registry) providerName() string {
	if r.provider == nil {
		return "none"
	}
	return r.provider.Name()
}

func newID(prefix string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("live registry: id: %w", err)
	}
	return prefix + hex.EncodeToString(b[:]), nil
}
