// Package pgtest gives tests a fresh PostgreSQL database of their own on the
// server ingest/testenv names, with the commerce schema migrated, and drops
// it when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/ingest/testenv"
)

// Database creates an empty database named tide_test_<random> and returns
// its URL. It is dropped (with FORCE, closing leftover connections) when t
// ends. The test is skipped, or fails under CI=true, without a server.
func Database(t testing.TB) string {
	t.Helper()
	admin := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", admin, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "tide_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("postgres url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Store opens a Store on a fresh Database with the schema migrated; it is
// closed when t ends.
func Store(t testing.TB) (*postgres.Store, string) {
	t.Helper()
	dsn := Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, dsn, postgres.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s, dsn
}
