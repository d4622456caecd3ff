package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tide-live/tide/ingest/testenv"
)

// pgKeys is a PGKeys on a fresh database of its own, migrated, dropped when
// the test ends.
func pgKeys(t *testing.T) (*PGKeys, *pgxpool.Pool) {
	t.Helper()
	admin := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "tide_test_auth_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			defer c.Close(ctx)
			if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("drop database %s: %v", name, err)
			}
		}
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	k := NewPGKeys(pool, nil)
	if err := k.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return k, pool
}

func TestPGKeys(t *testing.T) {
	keys, pool := pgKeys(t)
	ctx := context.Background()
	if err := keys.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}

	mkey, m, err := keys.Create(ctx, RoleMerchant, "m1", "dashboard")
	if err != nil {
		t.Fatal(err)
	}
	akey, a, err := keys.Create(ctx, RoleAdmin, "", "ops")
	if err != nil {
		t.Fatal(err)
	}
	got, err := keys.LookupKey(ctx, HashAPIKey(mkey))
	if err != nil || got != m || got.Role != RoleMerchant || got.MerchantID != "m1" {
		t.Errorf("LookupKey(merchant) = %+v, %v; want %+v", got, err, m)
	}
	if got, err := keys.LookupKey(ctx, HashAPIKey(akey)); err != nil || got != a {
		t.Errorf("LookupKey(admin) = %+v, %v; want %+v", got, err, a)
	}
	if _, err := keys.LookupKey(ctx, HashAPIKey("tk_never_issued")); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}

	// Only the hash is stored.
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM auth_api_keys WHERE position($1::bytea in key_hash) > 0 OR id = $2 OR name = $2`,
		[]byte(mkey), mkey).Scan(&n); err != nil || n != 0 {
		t.Errorf("the key itself is in the table (%d rows, %v)", n, err)
	}

	// A merchant key cannot be made without a merchant, nor an admin key with one.
	if _, _, err := keys.Create(ctx, RoleMerchant, "", "x"); err == nil {
		t.Error("merchant key without merchant id created")
	}
	if _, _, err := keys.Create(ctx, RoleAdmin, "m1", "x"); err == nil {
		t.Error("admin key with merchant id created")
	}

	_, m2, _ := keys.Create(ctx, RoleMerchant, "m2", "")
	list, err := keys.List(ctx, "m1")
	if err != nil || len(list) != 1 || list[0] != m {
		t.Errorf("List(m1) = %+v, %v", list, err)
	}
	if all, _ := keys.List(ctx, ""); len(all) != 3 {
		t.Errorf("List() has %d keys, want 3", len(all))
	}

	if err := keys.Revoke(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.LookupKey(ctx, HashAPIKey(mkey)); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("revoked key still works: %v", err)
	}
	if err := keys.Revoke(ctx, m.ID); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("second Revoke = %v, want ErrUnknownKey", err)
	}
	if list, _ := keys.List(ctx, "m2"); len(list) != 1 || list[0] != m2 {
		t.Errorf("List(m2) = %+v", list)
	}
}

// Through the interceptor, a PostgreSQL key scopes the caller to its merchant.
func TestPGKeysAuthenticate(t *testing.T) {
	keys, _ := pgKeys(t)
	ctx := context.Background()
	key, rec, err := keys.Create(ctx, RoleMerchant, "m7", "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewAuthenticator(nil, keys).Authenticate(ctx, "Bearer "+key)
	if err != nil {
		t.Fatal(err)
	}
	if p != (Principal{Role: RoleMerchant, MerchantID: "m7", KeyID: rec.ID}) {
		t.Errorf("principal %+v", p)
	}
	if _, err := RequireMerchant(WithPrincipal(ctx, p), "m8"); err == nil {
		t.Error("m7's key may act for m8")
	}
}
