package chschema

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/ingest/testenv"
)

func TestMigrationsParse(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 3 {
		t.Fatalf("%d migrations", len(ms))
	}
	for i, m := range ms {
		if m.Version != uint32(i+1) {
			t.Errorf("%s has version %d, want %d (no gaps)", m.Name, m.Version, i+1)
		}
		for _, q := range m.Statements("db_x") {
			if strings.Contains(q, "{db}") || strings.HasSuffix(q, ";") || strings.TrimSpace(q) == "" {
				t.Errorf("%s: bad statement %q", m.Name, q)
			}
			if !idempotent(m, q) {
				t.Errorf("%s: statement is not idempotent: %.60q", m.Name, q)
			}
		}
	}
	if got := ms[1].Statements("d"); len(got) != 2 {
		t.Errorf("0002 splits into %d statements, want 2", len(got))
	}
}

// idempotent reports whether running q twice leaves what running it once
// does: CREATE ... IF NOT EXISTS, DROP ... IF EXISTS, or an INSERT into states
// that absorb copies (a migration declares that with "-- backfill: idempotent").
func idempotent(m Migration, q string) bool {
	switch {
	case strings.Contains(q, "IF NOT EXISTS"), strings.HasPrefix(q, "DROP TABLE IF EXISTS "):
		return true
	case strings.HasPrefix(q, "INSERT INTO "):
		return strings.Contains(m.SQL, "\n-- backfill: idempotent.")
	}
	return false
}

func TestMigrateRejectsBadDatabaseName(t *testing.T) {
	if _, err := Migrate(context.Background(), nil, "x; DROP TABLE y"); err == nil {
		t.Fatal("accepted a database name with SQL in it")
	}
}

func open(t *testing.T) driver.Conn {
	addr := testenv.ClickHouse(t)
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, Protocol: clickhouse.Native, MaxOpenConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestMigrateConcurrentAndIdempotent starts four migrators on a fresh
// database at once, then migrates again: the schema ends up complete, each
// migration recorded, and the second run applies nothing.
func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short")
	}
	conn := open(t)
	ctx := context.Background()
	db := fmt.Sprintf("test_chschema_%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db) })

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := Migrate(ctx, conn, db); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Migrate: %v", err)
	}
	applied, err := Migrate(ctx, conn, db)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate applied %v, %v", applied, err)
	}
	ms, _ := Migrations()
	done, err := Applied(ctx, conn, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if done[m.Version] != m.Checksum {
			t.Errorf("%s recorded with checksum %q", m.Name, done[m.Version])
		}
	}
	var tables uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name IN ('events', 'kafka_offsets', 'kafka_offsets_mv', 'room_minute_exact', 'room_minute_exact_mv', 'schema_migrations')", db).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 6 {
		t.Errorf("%d of 6 tables and views exist", tables)
	}
	var old uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name IN ('room_minute', 'room_minute_mv')", db).Scan(&old); err != nil {
		t.Fatal(err)
	}
	if old != 0 {
		t.Errorf("the inexact room_minute of 0003 is still there (%d tables and views)", old)
	}
}
