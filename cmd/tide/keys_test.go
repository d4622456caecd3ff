package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/serving/auth"
)

// create → the key authenticates as its merchant; list shows it; revoke
// stops it.
func TestKeysCommand(t *testing.T) {
	dsn := pgtest.Database(t)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out bytes.Buffer
	if err := keysCommand(ctx, log, &out, []string{"create", "-postgres", dsn, "-merchant", "m7", "-name", "dashboard"}); err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, _ := strings.Cut(line, "\t")
		fields[k] = v
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := auth.NewPGKeys(pool, log)
	rec, err := store.LookupKey(ctx, auth.HashAPIKey(fields["key"]))
	if err != nil || rec.MerchantID != "m7" || rec.Role != auth.RoleMerchant || rec.ID != fields["id"] {
		t.Fatalf("created key looks up as %v, %v (printed %v)", rec, err, fields)
	}
	out.Reset()
	if err := keysCommand(ctx, log, &out, []string{"list", "-postgres", dsn}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), fields["id"]) || strings.Contains(out.String(), fields["key"]) {
		t.Fatalf("list printed %q", out.String())
	}
	if err := keysCommand(ctx, log, io.Discard, []string{"revoke", "-postgres", dsn, fields["id"]}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.LookupKey(ctx, auth.HashAPIKey(fields["key"])); !errors.Is(err, auth.ErrUnknownKey) {
		t.Fatalf("revoked key still works: %v", err)
	}
	if err := keysCommand(ctx, log, io.Discard, []string{"create", "-postgres", dsn}); err == nil {
		t.Fatal("create without -merchant or -admin accepted")
	}
}
