// Package postgres stores the catalog (merchants, products, SKUs) in
// PostgreSQL with pgx, and announces every product change through the shared
// transactional outbox (ingest/outbox): each write that changes a product
// adds an EVENT_TYPE_PRODUCT_CHANGED event in the same transaction, and the
// outbox's one Relay publishes it to Kafka (at-least-once, in order per
// product).
//
// The schema is created by Migrate (goose migrations embedded in the binary,
// versions tracked in commerce_goose_version; the shared outbox's own).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tide-live/tide/ingest/outbox"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable records which commerce migrations were applied. It is not
// goose's default so that other packages' migrations in the same database
// (live/) keep their own history.
const MigrationsTable = "commerce_goose_version"

// migrationLockID is the advisory lock that serializes concurrent Migrate
// calls ("tide.commerce" in ASCII, as an int64).
const migrationLockID int64 = 0x746964652e636f

// ErrNotFound is wrapped by lookups of a product that does not exist.
var ErrNotFound = errors.New("not found")

// Store is the catalog in PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	owned bool
	log   *slog.Logger
}

// Option configures a Store.
type Option func(*Store)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// Open connects to the database at url (postgres://…). Close releases the
// connections. The pool holds up to DefaultMaxConns connections unless url
// sets pgx's pool_max_conns (…?pool_max_conns=32).
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("commerce postgres: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("commerce postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("commerce postgres: %w", err)
	}
	s := New(pool, opts...)
	s.owned = true
	return s, nil
}

// DefaultMaxConns is the pool size of Open when the URL names none:
// max(8, 4×GOMAXPROCS). pgx's own default (4, or the CPU count) caps a
// checkout under load below what the database serves: concurrent buyers
// queue for a connection while PostgreSQL idles.
func DefaultMaxConns() int32 { return int32(max(8, 4*runtime.GOMAXPROCS(0))) }

// New wraps an existing pool; Close leaves it open.
func New(pool *pgxpool.Pool, opts ...Option) *Store {
	s := &Store{pool: pool, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Pool is the underlying connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool when Open made it.
func (s *Store) Close() {
	if s.owned {
		s.pool.Close()
	}
}

// Migrate applies the pending schema migrations, the shared outbox's
// (ingest/outbox) first, since product writes and orders write to it.
// Concurrent calls from several processes are serialized by advisory locks.
func (s *Store) Migrate(ctx context.Context) error {
	if err := outbox.Migrate(ctx, s.pool, s.log); err != nil {
		return fmt.Errorf("commerce migrations: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("commerce migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("commerce migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(MigrationsTable), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("commerce migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("commerce migrations: %w", err)
	}
	for _, r := range res {
		s.log.Info("commerce migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return s.moveLegacyOutbox(ctx)
}
