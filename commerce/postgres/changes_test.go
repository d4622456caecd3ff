package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// topic creates a 4-partition topic of its own for t and a producer client.
func topic(t *testing.T) (brokers []string, name string, kc *kgo.Client) {
	t.Helper()
	brokers = testenv.Kafka(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	name = "tide-test-commerce-" + hex.EncodeToString(b[:])
	kc, err := outbox.NewKafkaClient(brokers)
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(kc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 4, 1, nil, name); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = adm.DeleteTopic(ctx, name)
		kc.Close()
	})
	return brokers, name, kc
}

type published struct {
	key   string
	event *tidev1.Event
}

// consume reads records from the start of topic until want arrived or
// timeout, then a little longer to catch duplicates.
func consume(t *testing.T, brokers []string, topic string, want int, timeout time.Duration) []published {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []published
	deadline := time.Now().Add(timeout)
	extra := time.Time{}
	for time.Now().Before(deadline) && (extra.IsZero() || time.Now().Before(extra)) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			var e tidev1.Event
			if err := proto.Unmarshal(r.Value, &e); err != nil {
				t.Errorf("record at %d/%d: %v", r.Partition, r.Offset, err)
				return
			}
			if h := header(r, outbox.TypeHeader); h != "product_changed" {
				t.Errorf("record header %s = %q", outbox.TypeHeader, h)
			}
			out = append(out, published{key: string(r.Key), event: &e})
		})
		if len(out) >= want && extra.IsZero() {
			extra = time.Now().Add(time.Second)
		}
	}
	return out
}

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// Product writes announce exactly the products they created, updated or
// deleted, through the shared outbox and its relay; a dry run announces
// nothing.
func TestProductChangesArePublishedThroughTheOutbox(t *testing.T) {
	brokers, name, kc := topic(t)
	s, _ := pgtest.Store(t)
	ctx := context.Background()
	importInto(t, s, catalogFile(50, func(i int) string { return fmt.Sprintf("鞋 %d", i) }))
	relay := outbox.NewRelay(s.Pool(), kc, outbox.WithTopic(name), outbox.WithBatch(20))
	if n, err := relay.Drain(ctx); err != nil || n != 50 {
		t.Fatalf("first drain: %d %v", n, err)
	}
	importInto(t, s.DryRun(), catalogFile(50, func(int) string { return "试运行" }))
	if n, _ := outbox.Pending(ctx, s.Pool()); n != 0 {
		t.Fatalf("a dry run left %d events in the outbox", n)
	}
	// Re-import with two changes, then delete one product.
	importInto(t, s, catalogFile(50, func(i int) string {
		if i == 7 || i == 8 {
			return "新鞋"
		}
		return fmt.Sprintf("鞋 %d", i)
	}))
	if _, err := s.DeleteProducts(ctx, "p00009"); err != nil {
		t.Fatal(err)
	}
	if n, err := relay.Drain(ctx); err != nil || n != 3 {
		t.Fatalf("second drain: %d %v", n, err)
	}
	if n, _ := outbox.Pending(ctx, s.Pool()); n != 0 {
		t.Errorf("%d rows still pending", n)
	}

	got := consume(t, brokers, name, 53, 20*time.Second)
	if len(got) != 53 {
		t.Fatalf("consumed %d events, want 53", len(got))
	}
	limits := ingest.DefaultLimits()
	changes := map[string]int{}
	ids := map[string]bool{}
	var later []string
	for _, p := range got {
		e := p.event
		if err := limits.Validate(e, time.UnixMilli(e.GetReceivedAt())); err != nil {
			t.Errorf("invalid event %v: %v", e, err)
		}
		if e.GetType() != tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED || p.key != e.GetProductId() || e.GetMerchantId() == "" {
			t.Errorf("event %v keyed %q", e, p.key)
		}
		if ids[e.GetEventId()] {
			t.Errorf("event id %s twice", e.GetEventId())
		}
		ids[e.GetEventId()] = true
		changes[e.GetAttrs()["change"]]++
		if c := e.GetAttrs()["change"]; c != postgres.ChangeCreated {
			later = append(later, e.GetProductId()+":"+c)
		}
	}
	if changes["created"] != 50 || changes["updated"] != 2 || changes["deleted"] != 1 {
		t.Errorf("changes %v", changes)
	}
	want := map[string]bool{"p00007:updated": true, "p00008:updated": true, "p00009:deleted": true}
	for _, l := range later {
		if !want[l] {
			t.Errorf("unexpected event %s", l)
		}
	}
}

// Several relays publish each product change once, and each product's
// changes in the order they were written.
func TestConcurrentRelaysKeepEachProductsOrder(t *testing.T) {
	brokers, name, kc := topic(t)
	s, _ := pgtest.Store(t)
	ctx := context.Background()
	// 600 products, then 3 more rounds of changes to the first 200:
	// 1200 changes, several per product.
	importInto(t, s, catalogFile(600, func(i int) string { return fmt.Sprintf("鞋 %d", i) }))
	for round := 1; round <= 3; round++ {
		importInto(t, s, catalogFile(200, func(i int) string { return fmt.Sprintf("鞋 %d 第%d版", i, round) }))
	}
	if n, _ := outbox.Pending(ctx, s.Pool()); n != 1200 {
		t.Fatalf("%d pending, want 1200", n)
	}
	// Where each event was written in the outbox, to check the order.
	rows, err := s.Pool().Query(ctx, `SELECT event_id, id FROM event_outbox`)
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		written[id] = n
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	var wg sync.WaitGroup
	sent := make([]int, 4)
	for k := range 4 {
		wg.Go(func() {
			r := outbox.NewRelay(s.Pool(), kc, outbox.WithTopic(name), outbox.WithBatch(50))
			for {
				n, err := r.Drain(ctx)
				sent[k] += n
				if err != nil {
					t.Error(err)
					return
				}
				if p, _ := outbox.Pending(ctx, s.Pool()); p == 0 {
					return
				}
				time.Sleep(10 * time.Millisecond) // rows left for another relay's product order
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range sent {
		total += n
	}
	if total != 1200 {
		t.Errorf("relays report %d published (%v), want 1200", total, sent)
	}
	got := consume(t, brokers, name, 1200, 30*time.Second)
	if len(got) != 1200 {
		t.Fatalf("consumed %d events, want exactly 1200", len(got))
	}
	seen := map[string]bool{}
	last := map[string]int64{}
	for _, p := range got {
		e := p.event
		if seen[e.GetEventId()] {
			t.Errorf("event %s delivered twice", e.GetEventId())
		}
		seen[e.GetEventId()] = true
		at, ok := written[e.GetEventId()]
		if !ok {
			t.Fatalf("event %s was not written to the outbox", e.GetEventId())
		}
		// Records of one product share a partition, consumed in order, so
		// their outbox positions must rise.
		if at <= last[e.GetProductId()] {
			t.Errorf("product %s: outbox row %d after %d", e.GetProductId(), at, last[e.GetProductId()])
		}
		last[e.GetProductId()] = at
	}
	t.Logf("published per relay: %v", sent)
}

// Changes still pending in commerce's own outbox table (before product
// changes went to the shared outbox) are moved there by Migrate, in order,
// and the table is dropped; sent ones are not announced again.
func TestMigrateMovesTheLegacyOutbox(t *testing.T) {
	s, _ := pgtest.Store(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	if _, err := s.Pool().Exec(ctx, `
		CREATE TABLE outbox (id bigserial PRIMARY KEY, product_id text NOT NULL, merchant_id text NOT NULL,
			change text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `
		INSERT INTO outbox (product_id, merchant_id, change, created_at, sent_at) VALUES
			('p1', 'm1', 'created', $1, now()), ('p2', 'm1', 'created', $1, NULL), ('p2', 'm1', 'updated', $1, NULL),
			('p3', 'm2', 'deleted', $1, NULL)`, at); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := s.Pool().QueryRow(ctx, `SELECT to_regclass('outbox') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("legacy table still there (%v, %v)", exists, err)
	}
	rows, err := s.Pool().Query(ctx, `SELECT event_type, payload FROM event_outbox WHERE sent_at IS NULL ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var typ string
		var payload []byte
		if err := rows.Scan(&typ, &payload); err != nil {
			t.Fatal(err)
		}
		var e tidev1.Event
		if err := proto.Unmarshal(payload, &e); err != nil {
			t.Fatal(err)
		}
		if typ != "product_changed" || e.GetTs() != at.UnixMilli() || e.GetEventId() == "" {
			t.Errorf("moved %s %v", typ, &e)
		}
		got = append(got, e.GetProductId()+"/"+e.GetMerchantId()+":"+e.GetAttrs()["change"])
	}
	if fmt.Sprint(got) != "[p2/m1:created p2/m1:updated p3/m2:deleted]" {
		t.Errorf("moved %v, want the three pending changes in order", got)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("a second Migrate: %v", err)
	}
	if n, _ := outbox.Pending(ctx, s.Pool()); n != 3 {
		t.Errorf("%d pending after a second Migrate, want the same 3", n)
	}
}
