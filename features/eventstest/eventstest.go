// Package eventstest gives the features tests and benchmarks a ClickHouse events table of
// their own (the real schema, from ingest's migrations, in a fresh database)
// and a way to fill it.
package eventstest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/chschema"
	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Open connects to the test ClickHouse (skipping the test when it is not
// running, failing under CI) and creates a fresh database holding the events
// tables. The database is dropped when the test ends.
func Open(t testing.TB) (driver.Conn, string) {
	t.Helper()
	addr := testenv.ClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := ingest.OpenClickHouse(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	db := fmt.Sprintf("features_test_%d_%08x", time.Now().Unix(), rand.Uint32())
	if err := create(ctx, conn, db); err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			t.Logf("drop %s: %v", db, err)
		}
		conn.Close()
	})
	return conn, db
}

// Insert writes es to db.events in one batch.
func Insert(t testing.TB, conn driver.Conn, db string, es []*tidev1.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := conn.PrepareBatch(ctx, ingest.InsertSQL(db))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es {
		var ek, ev, ak, av []string
		for _, k := range slices.Sorted(maps.Keys(e.GetExperiments())) {
			ek, ev = append(ek, k), append(ev, e.GetExperiments()[k])
		}
		for _, k := range slices.Sorted(maps.Keys(e.GetAttrs())) {
			ak, av = append(ak, k), append(av, e.GetAttrs()[k])
		}
		if err := b.Append(e.GetEventId(), int8(e.GetType()), e.GetTs(), e.GetReceivedAt(), e.GetUserId(),
			e.GetDeviceId(), e.GetMerchantId(), e.GetRoomId(), e.GetLiveSessionId(), e.GetProductId(),
			e.GetRequestId(), e.GetPosition(), e.GetValue(), e.GetText(), ek, ev, ak, av,
			"test", int32(0), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
}

// create makes db with the tables of ingest's migrations (their statements
// only; the tests need no migration bookkeeping).
func create(ctx context.Context, conn driver.Conn, db string) error {
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return err
	}
	ms, err := chschema.Migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		for _, q := range m.Statements(db) {
			if err := conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
		}
	}
	return nil
}
