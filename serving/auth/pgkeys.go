package auth

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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable records which auth migrations were applied (its own, so
// the commerce and live migrations in the same database keep theirs).
const MigrationsTable = "auth_goose_version"

// migrationLockID serializes concurrent Migrate calls ("tideauth" in ASCII).
const migrationLockID int64 = 0x7469646561757468

// PGKeys is a KeyStore of API keys in PostgreSQL (table auth_api_keys, made
// by Migrate). Safe for concurrent use.
type PGKeys struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// NewPGKeys uses pool; the caller closes it.
func NewPGKeys(pool *pgxpool.Pool, log *slog.Logger) *PGKeys {
	if log == nil {
		log = slog.Default()
	}
	return &PGKeys{pool: pool, log: log}
}

// Migrate applies the pending auth schema migrations (API keys and
// accounts); see the package function Migrate.
func (k *PGKeys) Migrate(ctx context.Context) error { return Migrate(ctx, k.pool, k.log) }

// Migrate applies the pending auth schema migrations to the database of
// pool: tables auth_api_keys (PGKeys) and auth_accounts (PGAccounts).
// Concurrent calls from several replicas are serialized by an advisory lock.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("auth migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("auth migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(MigrationsTable), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("auth migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("auth migrations: %w", err)
	}
	for _, r := range res {
		log.Info("auth migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}

// Create makes a new key for merchantID (RoleMerchant) or an admin key
// (RoleAdmin, empty merchantID), stores its hash and returns the key, which
// is shown this once and cannot be recovered.
func (k *PGKeys) Create(ctx context.Context, role Role, merchantID, name string) (key string, rec APIKey, err error) {
	rec = APIKey{Role: role, MerchantID: merchantID, Name: name}
	if err := rec.validate(); err != nil {
		return "", APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	key, err = NewAPIKey()
	if err != nil {
		return "", APIKey{}, err
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	rec.ID = "key_" + hex.EncodeToString(id[:])
	h := HashAPIKey(key)
	if _, err := k.pool.Exec(ctx,
		`INSERT INTO auth_api_keys (id, key_hash, role, merchant_id, name) VALUES ($1, $2, $3, $4, $5)`,
		rec.ID, h[:], role.String(), merchantID, name); err != nil {
		return "", APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return key, rec, nil
}

// Revoke stops the key with id from working (at once: lookups are not
// cached). Revoking an unknown or revoked key wraps ErrUnknownKey.
func (k *PGKeys) Revoke(ctx context.Context, id string) error {
	tag, err := k.pool.Exec(ctx, `UPDATE auth_api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("revoke api key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke api key %s: %w", id, ErrUnknownKey)
	}
	return nil
}

// List returns merchantID's live keys (every live key when merchantID is
// empty), newest first.
func (k *PGKeys) List(ctx context.Context, merchantID string) ([]APIKey, error) {
	rows, err := k.pool.Query(ctx, `SELECT id, role, merchant_id, name FROM auth_api_keys
		WHERE revoked_at IS NULL AND ($1 = '' OR merchant_id = $1) ORDER BY created_at DESC, id`, merchantID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, scanKey)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// LookupKey implements KeyStore.
func (k *PGKeys) LookupKey(ctx context.Context, h KeyHash) (APIKey, error) {
	rows, err := k.pool.Query(ctx, `SELECT id, role, merchant_id, name FROM auth_api_keys
		WHERE key_hash = $1 AND revoked_at IS NULL`, h[:])
	if err != nil {
		return APIKey{}, fmt.Errorf("look up api key: %w", err)
	}
	key, err := pgx.CollectExactlyOneRow(rows, scanKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return APIKey{}, ErrUnknownKey
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("look up api key: %w", err)
	}
	return key, nil
}

func scanKey(row pgx.CollectableRow) (APIKey, error) {
	var k APIKey
	var role string
	if err := row.Scan(&k.ID, &role, &k.MerchantID, &k.Name); err != nil {
		return APIKey{}, err
	}
	r, err := ParseRole(role)
	if err != nil {
		return APIKey{}, err
	}
	k.Role = r
	return k, nil
}
