package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/ingest/testenv"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/auth"
)

// demoCheckout is a tide server with checkout on a fresh database and a
// topic of its own, and the demo's buyer (demo_commerce.go) of catalog
// on it, with an API key for every merchant of catalog.
type demoCheckout struct {
	brokers    []string
	dsn, topic string
	url        string // the server's base URL
	admin      string // an admin API key
	dc         *demoCommerce
}

func startDemoCheckout(t *testing.T, ctx context.Context, catalog []livesim.Product) *demoCheckout {
	t.Helper()
	f := &demoCheckout{brokers: testenv.Kafka(t), dsn: pgtest.Database(t)}
	t.Setenv("TIDE_POSTGRES_URL", f.dsn)
	t.Setenv(envSessionKeys, "") // demoSessionKeys makes one, as in `tide demo`
	t.Setenv(envRateLimit, "off")
	t.Setenv("TIDE_CLICKHOUSE_ADDR", "")
	tokens, err := demoSessionKeys()
	if err != nil || tokens == nil {
		t.Fatalf("session keys: %v %v", tokens, err)
	}
	if f.admin, err = auth.NewAPIKey(); err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, p := range catalog {
		if keys[p.MerchantID] == "" {
			if keys[p.MerchantID], err = auth.NewAPIKey(); err != nil {
				t.Fatal(err)
			}
		}
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	f.topic = "tide-test-demo-commerce-" + hex.EncodeToString(b[:])
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, closeFn, err := newServer(ctx, log, serveConfig{addr: "127.0.0.1:0", brokers: f.brokers, topic: f.topic, partitions: 1,
		adminKeys: demoBuiltinKeys(f.admin, keys)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	f.url = hs.URL
	if f.dc, err = openDemoCommerce(ctx, log, hs.URL, tokens, keys, catalog); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.dc.close)
	return f
}

// With PostgreSQL, the simulation's order_created and order_paid become a
// Submit on CommerceService by the simulated user and the order's paid
// transition, and its order_refunded the buyer's refund request, the
// merchant's approval and the refund: they leave the Track stream, and the
// orders, refunds and their outbox events are checkout's, at the SKU's
// price, under the simulation's own user id.
func TestDemoCommerceBuysThroughCheckout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim := livesim.New(livesim.WithSeed(5), livesim.WithUsers(50), livesim.WithStart(time.Now().UTC()))
	catalog := sim.Products()
	p := catalog[0]
	f := startDemoCheckout(t, ctx, catalog)
	brokers, dsn, topic, dc := f.brokers, f.dsn, f.topic, f.dc

	const simUser = "u_00001" // livesim's ids are tide user ids
	ev := func(typ tidev1.EventType, id string, value int64) *tidev1.Event {
		return &tidev1.Event{EventId: id, Type: typ, Ts: time.Now().UnixMilli(), UserId: simUser, MerchantId: p.MerchantID,
			ProductId: p.ID, RoomId: "r_sim", Value: value, Attrs: map[string]string{"order_id": "o_sim1"}}
	}
	submitted := ev(tidev1.EventType_EVENT_TYPE_ORDER_CREATED, "e1", 3*p.PriceFen)
	submitted.Attrs["acct_created"] = "1764000000000" // the simulation's account age (attack jobs set it)
	submitted.Attrs["ip"] = "nat-7"                   // what the simulated client claimed: the server stamps its own
	rest := demoDiverts(nil, dc.divert)(ctx, []*tidev1.Event{
		submitted,
		ev(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, "e2", 0),
		ev(tidev1.EventType_EVENT_TYPE_ORDER_PAID, "e3", 3*p.PriceFen),
		ev(tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED, "e4", 3*p.PriceFen),
	})
	if len(rest) != 1 || rest[0].EventId != "e2" {
		t.Fatalf("divert left %v, want only the click", rest)
	}

	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var id, user, pay, refund string
	var payFen int64
	if err := pool.QueryRow(ctx, `SELECT id, user_id, pay_state, refund_state, pay_fen FROM orders`).Scan(&id, &user, &pay, &refund, &payFen); err != nil {
		t.Fatalf("the one order: %v", err)
	}
	if user != simUser || pay != "paid" || refund != "refunded" || payFen != 3*p.PriceFen {
		t.Fatalf("order %s: user %s, %s, refund %s, %d fen; want %s, paid, refunded, %d", id, user, pay, refund, payFen, simUser, 3*p.PriceFen)
	}
	var created, paid, refunded int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE event_type = 'order_created'),
		count(*) FILTER (WHERE event_type = 'order_paid'), count(*) FILTER (WHERE event_type = 'order_refunded')
		FROM event_outbox`).Scan(&created, &paid, &refunded); err != nil {
		t.Fatal(err)
	}
	if created != 1 || paid != 1 || refunded != 1 {
		t.Fatalf("outbox has %d order_created, %d order_paid, %d order_refunded; want 1 of each", created, paid, refunded)
	}

	// serve_outbox.go's one relay publishes checkout's events to the topic,
	// and Submit's carries the caller's facts (serve_auth.go's Stamper).
	seen := orderEventsOnTopic(t, brokers, topic, 20*time.Second)
	for _, typ := range []tidev1.EventType{tidev1.EventType_EVENT_TYPE_ORDER_CREATED, tidev1.EventType_EVENT_TYPE_ORDER_PAID, tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED} {
		if es := seen[typ]; len(es) != 1 || es[0].GetUserId() != simUser {
			t.Fatalf("on the topic: %d %s, want 1 of user %s", len(es), typ, simUser)
		}
	}
	if v := seen[tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED][0].GetValue(); v != 3*p.PriceFen {
		t.Errorf("order_refunded value %d, want the %d fen paid", v, 3*p.PriceFen)
	}
	a := seen[tidev1.EventType_EVENT_TYPE_ORDER_CREATED][0].GetAttrs()
	if !strings.HasPrefix(a["ip"], "iph_") || a["acct_created"] != "1764000000000" {
		t.Errorf("order_created attrs ip=%q acct_created=%q, want the caller's keyed hash and the token's account time", a["ip"], a["acct_created"])
	}
}

// orderEventsOnTopic reads topic until it has seen an order_refunded (or
// the timeout) and returns its order events by type.
func orderEventsOnTopic(t *testing.T, brokers []string, topic string, timeout time.Duration) map[tidev1.EventType][]*tidev1.Event {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out := map[tidev1.EventType][]*tidev1.Event{}
	var settle time.Time // once order_refunded is seen, a second more for duplicates
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline) && (settle.IsZero() || time.Now().Before(settle)); {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			e := &tidev1.Event{}
			if err := proto.Unmarshal(r.Value, e); err != nil {
				t.Errorf("record at offset %d: %v", r.Offset, err)
				return
			}
			switch e.GetType() {
			case tidev1.EventType_EVENT_TYPE_ORDER_CREATED, tidev1.EventType_EVENT_TYPE_ORDER_PAID, tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED:
				out[e.GetType()] = append(out[e.GetType()], e)
			}
		})
		if settle.IsZero() && len(out[tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED]) > 0 {
			settle = time.Now().Add(time.Second)
		}
	}
	return out
}
