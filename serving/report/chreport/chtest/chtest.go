// Package chtest gives report tests their own ClickHouse database, migrated
// by ingest/chschema, and writes events into it the way ingest would.
package chtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/chschema"
	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Database connects to the test ClickHouse (skipping or failing as
// ingest/testenv decides), creates a fresh database named after the test,
// migrates it, and drops it when the test ends.
func Database(t testing.TB) (driver.Conn, string) {
	t.Helper()
	addr := testenv.ClickHouse(t)
	ctx := context.Background()
	conn, err := ingest.OpenClickHouse(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(t.Name()))
	db := fmt.Sprintf("test_report_%.30s_%d", name, time.Now().UnixNano()%1e9)
	if _, err := chschema.Migrate(ctx, conn, db); err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		conn.Close()
	})
	return conn, db
}

// Insert writes events into db.events in one INSERT, with received_at
// defaulting to ts when zero.
func Insert(ctx context.Context, conn driver.Conn, db string, events ...*tidev1.Event) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+`.events (event_id, type, ts, received_at, user_id, device_id,
    merchant_id, room_id, live_session_id, product_id, request_id, position, value, text,
    experiments.name, experiments.arm, attrs.key, attrs.value, kafka_topic, kafka_partition, kafka_offset)`)
	if err != nil {
		return fmt.Errorf("chtest: insert: %w", err)
	}
	for _, e := range events {
		recv := e.ReceivedAt
		if recv == 0 {
			recv = e.Ts
		}
		var names, arms []string
		for n, a := range e.Experiments {
			names, arms = append(names, n), append(arms, a)
		}
		var keys, vals []string
		for k, v := range e.Attrs {
			keys, vals = append(keys, k), append(vals, v)
		}
		if err := b.Append(e.EventId, ingest.TypeName(e.Type), e.Ts, recv, e.UserId, e.DeviceId,
			e.MerchantId, e.RoomId, e.LiveSessionId, e.ProductId, e.RequestId, e.Position, e.Value, e.Text,
			names, arms, keys, vals, "test", int32(0), int64(0)); err != nil {
			b.Abort()
			return fmt.Errorf("chtest: insert: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("chtest: insert: %w", err)
	}
	return nil
}
