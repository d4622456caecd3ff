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

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/ingest"
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
	kc, err := postgres.NewKafkaClient(brokers)
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
	at    time.Time
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
			if h := header(r, postgres.EventTypeHeader); h != "product_changed" {
				t.Errorf("record header %s = %q", postgres.EventTypeHeader, h)
			}
			out = append(out, published{key: string(r.Key), event: &e, at: time.Now()})
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

func TestRelayDeliversExactlyTheChangedProducts(t *testing.T) {
	brokers, name, kc := topic(t)
	s, _ := pgtest.Store(t)
	ctx := context.Background()
	importInto(t, s, catalogFile(50, func(i int) string { return fmt.Sprintf("鞋 %d", i) }))
	relay := postgres.NewRelay(s, kc, postgres.WithTopic(name), postgres.WithBatch(20))
	if n, err := relay.Drain(ctx); err != nil || n != 50 {
		t.Fatalf("first drain: %d %v", n, err)
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
	if n, _ := relay.Drain(ctx); n != 0 {
		t.Errorf("a third drain published %d", n)
	}
	if n, _ := s.Pending(ctx); n != 0 {
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
		if c := e.GetAttrs()["change"]; c != "created" {
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

func TestConcurrentRelaysDoNotDoubleSend(t *testing.T) {
	brokers, name, kc := topic(t)
	s, _ := pgtest.Store(t)
	ctx := context.Background()
	// 600 products, then 3 more rounds of changes to the first 200:
	// 1200 outbox rows, several per product.
	importInto(t, s, catalogFile(600, func(i int) string { return fmt.Sprintf("鞋 %d", i) }))
	for round := 1; round <= 3; round++ {
		importInto(t, s, catalogFile(200, func(i int) string { return fmt.Sprintf("鞋 %d 第%d版", i, round) }))
	}
	if n, _ := s.Pending(ctx); n != 1200 {
		t.Fatalf("%d pending, want 1200", n)
	}
	var wg sync.WaitGroup
	sent := make([]int, 4)
	for k := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := postgres.NewRelay(s, kc, postgres.WithTopic(name), postgres.WithBatch(50))
			for {
				n, err := r.Drain(ctx)
				sent[k] += n
				if err != nil {
					t.Error(err)
					return
				}
				if p, _ := s.Pending(ctx); p == 0 {
					return
				}
				time.Sleep(10 * time.Millisecond) // rows left for another relay's product order
			}
		}()
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
	lastOutboxID := map[string]int64{}
	for _, p := range got {
		e := p.event
		if seen[e.GetEventId()] {
			t.Errorf("event %s delivered twice", e.GetEventId())
		}
		seen[e.GetEventId()] = true
		var id int64
		var micros string
		if _, err := fmt.Sscanf(e.GetEventId(), "commerce-outbox-%d-%s", &id, &micros); err != nil {
			t.Fatalf("event id %q: %v", e.GetEventId(), err)
		}
		// Records of one product share a partition, consumed in order, so
		// their outbox ids must rise.
		if id <= lastOutboxID[e.GetProductId()] {
			t.Errorf("product %s: outbox row %d after %d", e.GetProductId(), id, lastOutboxID[e.GetProductId()])
		}
		lastOutboxID[e.GetProductId()] = id
	}
	t.Logf("published per relay: %v", sent)
}

func TestRelayRunPublishesOnNotify(t *testing.T) {
	brokers, name, kc := topic(t)
	s, _ := pgtest.Store(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A long poll interval: only NOTIFY can make this fast.
	relay := postgres.NewRelay(s, kc, postgres.WithTopic(name), postgres.WithPollInterval(time.Minute))
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	time.Sleep(300 * time.Millisecond) // let it LISTEN

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(name),
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var lat []time.Duration
	for i := range 5 {
		start := time.Now()
		importInto(t, s, catalogFile(1, func(int) string { return fmt.Sprintf("鞋 v%d", i) }))
		pctx, pcancel := context.WithTimeout(ctx, 15*time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		if fs.NumRecords() != 1 {
			t.Fatalf("change %d: %d records (%v)", i, fs.NumRecords(), fs.Errors())
		}
		lat = append(lat, time.Since(start))
	}
	t.Logf("commit → consumed latency: %v", lat)
	for _, l := range lat {
		if l > 10*time.Second {
			t.Errorf("a change took %v: the relay did not wake on NOTIFY", l)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	var _ commerce.ProductWriter = s
}
