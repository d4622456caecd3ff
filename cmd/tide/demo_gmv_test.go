package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
)

// Hours of simulated traffic through the demo's path (demoTraffic with the
// checkout divert): every order event on the topic is checkout's, each
// room's GMV on the topic (paid minus refunded) is what PostgreSQL's orders
// say, and every buyer's orders and viewing events name it by one user id.
func TestDemoGMVIsCheckoutsOrders(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Yesterday 10:00–18:00 UTC: the same hours of the rooms' schedules on
	// every run, so the same orders and refunds, and well within Track's
	// accepted past.
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-14 * time.Hour)
	sim := livesim.New(livesim.WithSeed(9), livesim.WithUsers(300), livesim.WithMerchants(20),
		livesim.WithStart(start), livesim.WithSessionRate(0.2))
	f := startDemoCheckout(t, ctx, sim.Products())
	brokers, dsn, topic := f.brokers, f.dsn, f.topic
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	platform, err := serving.NewProducer(brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer platform.Close()
	tr := &demoTraffic{client: tidev1connect.NewEventServiceClient(&http.Client{Timeout: 30 * time.Second}, f.url,
		connect.WithInterceptors(bearer(f.admin))), log: log, platform: platform, topic: topic, divert: f.dc.divert}

	// The simulation's order events, as the simulation meant them.
	simPaid, simRefunded := 0, 0
	batch := make([]*tidev1.Event, 0, 200)
	for end := start.Add(8 * time.Hour); sim.Now().Before(end); {
		e := sim.Next()
		switch e.GetType() {
		case tidev1.EventType_EVENT_TYPE_ORDER_PAID:
			simPaid++
		case tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED:
			simRefunded++
		}
		if batch = append(batch, e); len(batch) == cap(batch) {
			tr.send(ctx, tr.divert(ctx, batch))
			batch = make([]*tidev1.Event, 0, 200)
		}
	}
	tr.send(ctx, tr.divert(ctx, batch))
	if tr.failed.Load()+tr.rejected.Load() > 0 || simRefunded == 0 {
		t.Fatalf("sent %d: %d failed, %d rejected; %d paid and %d refunded simulated orders (want some refunds)",
			tr.sent.Load(), tr.failed.Load(), tr.rejected.Load(), simPaid, simRefunded)
	}

	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pgGMV := map[string]int64{}
	var orders, paid, refunded int
	rows, err := pool.Query(ctx, `SELECT room_id, pay_state, refund_state, pay_fen FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var room, pay, refund string
		var fen int64
		if err := rows.Scan(&room, &pay, &refund, &fen); err != nil {
			t.Fatal(err)
		}
		orders++
		if pay == "paid" {
			paid++
			pgGMV[room] += fen
		}
		if refund == "refunded" {
			refunded++
			pgGMV[room] -= fen
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if paid != simPaid || refunded != simRefunded {
		t.Fatalf("PostgreSQL has %d orders, %d paid, %d refunded; the simulation paid %d and refunded %d", orders, paid, refunded, simPaid, simRefunded)
	}
	deadline := time.Now().Add(30 * time.Second)
	for n, _ := outbox.Pending(ctx, pool); n > 0 && time.Now().Before(deadline); n, _ = outbox.Pending(ctx, pool) {
		time.Sleep(200 * time.Millisecond)
	}

	// Everything on the topic: order events must be the outbox's.
	topicGMV := map[string]int64{}
	viewers := map[string]bool{}
	buyers := map[string]bool{}
	counts := map[tidev1.EventType]int{}
	want := int(tr.accepted.Load())
	for _, r := range readTopic(t, brokers, topic, want+orders+paid+refunded, 60*time.Second) {
		e := &tidev1.Event{}
		if err := proto.Unmarshal(r.Value, e); err != nil {
			t.Fatal(err)
		}
		counts[e.GetType()]++
		switch e.GetType() {
		case tidev1.EventType_EVENT_TYPE_ORDER_CREATED, tidev1.EventType_EVENT_TYPE_ORDER_PAID, tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED:
			if header(r, outbox.TypeHeader) == "" {
				t.Fatalf("order event %s did not come from the outbox (no %s header)", e.GetEventId(), outbox.TypeHeader)
			}
			buyers[e.GetUserId()] = true
			if e.GetType() == tidev1.EventType_EVENT_TYPE_ORDER_PAID {
				topicGMV[e.GetRoomId()] += e.GetValue()
			} else if e.GetType() == tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED {
				topicGMV[e.GetRoomId()] -= e.GetValue()
			}
		case tidev1.EventType_EVENT_TYPE_ROOM_ENTER, tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK:
			viewers[e.GetUserId()] = true
		}
	}
	if counts[tidev1.EventType_EVENT_TYPE_ORDER_CREATED] != orders || counts[tidev1.EventType_EVENT_TYPE_ORDER_PAID] != paid ||
		counts[tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED] != refunded {
		t.Fatalf("topic has %d created, %d paid, %d refunded; PostgreSQL %d, %d, %d", counts[tidev1.EventType_EVENT_TYPE_ORDER_CREATED],
			counts[tidev1.EventType_EVENT_TYPE_ORDER_PAID], counts[tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED], orders, paid, refunded)
	}
	for room, fen := range pgGMV {
		if topicGMV[room] != fen {
			t.Errorf("room %q: GMV on the topic %d fen, in PostgreSQL %d", room, topicGMV[room], fen)
		}
	}
	if len(topicGMV) != len(pgGMV) {
		t.Errorf("GMV of %d rooms on the topic, %d in PostgreSQL", len(topicGMV), len(pgGMV))
	}
	for u := range buyers {
		if !viewers[u] {
			t.Errorf("buyer %s has no room enter or product click under the same id", u)
		}
	}
	t.Logf("%d events; %d orders, %d paid, %d refunded in %d rooms; %d buyers among %d viewers",
		tr.sent.Load(), orders, paid, refunded, len(pgGMV), len(buyers), len(viewers))
}

// readTopic reads topic from the start until want records arrived (and a
// second more, for duplicates) or timeout.
func readTopic(t *testing.T, brokers []string, topic string, want int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	var settle time.Time
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline) && (settle.IsZero() || time.Now().Before(settle)); {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
		if settle.IsZero() && len(out) >= want {
			settle = time.Now().Add(time.Second)
		}
	}
	return out
}

// header is r's header k ("" when absent).
func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}
