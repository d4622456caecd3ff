package fraudch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/features/fraud"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/chschema"
	"github.com/tide-live/tide/ingest/testenv"
)

// migrated is a connection to the real server and a fresh database named
// prefix_…, migrated, dropped at the end of t.
func migrated(t *testing.T, prefix string) (driver.Conn, string) {
	t.Helper()
	ctx := context.Background()
	conn, err := ingest.OpenClickHouse(ctx, testenv.ClickHouse(t))
	if err != nil {
		t.Fatal(err)
	}
	db := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		conn.Close()
	})
	if _, err := chschema.Migrate(ctx, conn, db); err != nil {
		t.Fatal(err)
	}
	return conn, db
}

// TestWriterExactAndExclude writes flags twice (a restart re-flags), reads
// them back once each, and checks that ExcludePredicate leaves exactly the
// flagged accounts' and devices' events out, against the real server.
func TestWriterExactAndExclude(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short")
	}
	ctx := context.Background()
	conn, db := migrated(t, "test_fraudch")

	// Real flags from the engine: a device farm of 5 accounts, and u9 on its own.
	w, err := NewWriter(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	eng := fraud.New(fraud.WithSink(w.Add))
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	for i := range 5 {
		eng.Observe(click(fmt.Sprintf("u%d", i), "farm", t0+int64(i)*1000))
	}
	if w.Pending() != 6 {
		t.Fatalf("%d flags pending, want 6 (device + 5 accounts)", w.Pending())
	}
	first := append([]fraud.Flag(nil), pending(w)...)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A restarted engine flags them again: the rows double, the flags do not.
	for _, f := range first {
		f.At = f.At.Add(time.Minute)
		f.Reason += " (again)"
		w.Add(f)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := Flags(ctx, conn, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Fatalf("%d flags read, want 6: %+v", len(got), got)
	}
	for _, r := range got {
		if r.Rows != 2 || r.Rule != "r1_device_accounts" || r.Reason == "" || r.Reason[len(r.Reason)-7:] != "(again)" {
			t.Errorf("flag %+v, want 2 rows, rule r1, the latest reason", r)
		}
	}

	// A restarted engine restores the flags: the farm stays excluded, and
	// seeing the farm again raises nothing new.
	var again []fraud.Flag
	eng2 := fraud.New(fraud.WithSink(func(f fraud.Flag) { again = append(again, f) }))
	if n, err := Restore(ctx, conn, db, eng2); err != nil || n != 6 {
		t.Fatalf("restored %d flags, %v; want 6", n, err)
	}
	for i := range 5 {
		if eng2.Keep(click(fmt.Sprintf("u%d", i), "farm", t0+int64(i)*1000)) {
			t.Errorf("u%d kept after a restore", i)
		}
	}
	if len(again) != 0 {
		t.Errorf("restored engine raised %v", again)
	}

	// Events: 5 farm accounts on the farm device, u9 on its own device, and
	// an anonymous viewer on the farm device: only u9's count.
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".events (event_id, type, ts, received_at, user_id, device_id)")
	if err != nil {
		t.Fatal(err)
	}
	for i, ud := range [][2]string{{"u0", "farm"}, {"u4", "farm"}, {"u9", "d9"}, {"u9", "d9"}, {"", "farm"}, {"u8", "farm"}} {
		if err := b.Append(fmt.Sprintf("e%d", i), "room_enter", t0, t0, ud[0], ud[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	var kept uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".events WHERE "+ExcludePredicate(db)).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if kept != 2 {
		t.Errorf("%d events kept, want 2 (u9's)", kept)
	}
}

func TestNewWriterRejectsBadDatabase(t *testing.T) {
	if _, err := NewWriter(nil, "x; DROP TABLE y"); err == nil {
		t.Fatal("accepted SQL as a database name")
	}
	if p := ExcludePredicate("x; DROP"); p == "" || strings.Contains(p, ";") {
		t.Errorf("predicate %q", p)
	}
}

func pending(w *Writer) []fraud.Flag {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf
}

// TestWriterR7 writes the checkout's R7 flag (migration 0021's rule) and
// reads it back; a restored engine leaves the account's traffic out.
func TestWriterR7(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short")
	}
	ctx := context.Background()
	conn, db := migrated(t, "test_fraudch_r7")
	w, err := NewWriter(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	w.Add(fraud.Flag{Kind: fraud.KindUser, ID: "u_risky", Rule: fraud.RuleWeChatRiskRank, Reason: "wechat_risk_rank 4 >= 3", Measure: 4, At: at})
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := Flags(ctx, conn, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Rule != "r7_wechat_risk_rank" || got[0].ID != "u_risky" || !strings.HasPrefix(got[0].Reason, "wechat_risk_rank") {
		t.Fatalf("flags %+v", got)
	}
	eng := fraud.New()
	if n, err := Restore(ctx, conn, db, eng); err != nil || n != 1 {
		t.Fatalf("restored %d, %v", n, err)
	}
	if eng.Keep(click("u_risky", "d1", at.UnixMilli())) || !eng.IsFlaggedBy(fraud.KindUser, "u_risky", fraud.RuleWeChatRiskRank) {
		t.Error("a restored R7 account is not flagged")
	}
}
