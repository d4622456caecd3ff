package checkout_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Order facts reach Kafka from the outbox once each, with the server's
// values: created for both orders, paid once despite three notifies,
// cancelled once.
func TestOrderEventsReachKafkaOnce(t *testing.T) {
	brokers := testenv.Kafka(t)
	w := newWorld(t)
	ctx := context.Background()
	var b [4]byte
	_, _ = rand.Read(b[:])
	topic := "tide-test-checkout-" + hex.EncodeToString(b[:])
	kc, err := outbox.NewKafkaClient(brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	adm := kadm.NewClient(kc)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = adm.DeleteTopic(context.Background(), topic) }()

	paid := w.submit(t, "u1", "k1")
	if _, err := w.payments.Pay(ctx, "u1", paid.ID, "openid", "x"); err != nil {
		t.Fatal(err)
	}
	body, err := w.fake.Pay(paid.ID + "_1")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if code := w.deliver(t, w.notify.Payment(), body); code != http.StatusOK {
			t.Fatalf("notify: %d", code)
		}
	}
	cancelled := w.submit(t, "u2", "k1")
	if err := w.orders.Cancel(ctx, "u2", cancelled.ID, w.payments); err != nil {
		t.Fatal(err)
	}

	relay := outbox.NewRelay(w.store.Pool(), kc, outbox.WithTopic(topic))
	if _, err := relay.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.Drain(ctx); err != nil { // a second pass publishes nothing again
		t.Fatal(err)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]*tidev1.Event{}
	n := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); { // the whole window: duplicates show up too
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			var e tidev1.Event
			if err := proto.Unmarshal(r.Value, &e); err != nil {
				t.Errorf("record: %v", err)
				return
			}
			if e.GetType() == tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED {
				return // the fixture's product, announced through the same outbox
			}
			n++
			if _, dup := got[e.GetEventId()]; dup {
				t.Errorf("event %s published twice", e.GetEventId())
			}
			got[e.GetEventId()] = &e
		})
	}
	want := map[string]struct {
		typ  tidev1.EventType
		user string
	}{
		paid.ID + "-EVENT_TYPE_ORDER_CREATED":        {tidev1.EventType_EVENT_TYPE_ORDER_CREATED, "u1"},
		paid.ID + "-EVENT_TYPE_ORDER_PAID":           {tidev1.EventType_EVENT_TYPE_ORDER_PAID, "u1"},
		cancelled.ID + "-EVENT_TYPE_ORDER_CREATED":   {tidev1.EventType_EVENT_TYPE_ORDER_CREATED, "u2"},
		cancelled.ID + "-EVENT_TYPE_ORDER_CANCELLED": {tidev1.EventType_EVENT_TYPE_ORDER_CANCELLED, "u2"},
	}
	if n != len(want) || len(got) != len(want) {
		t.Fatalf("%d records, %d distinct events, want %d: %v", n, len(got), len(want), got)
	}
	for id, wv := range want {
		e, ok := got[id]
		if !ok || e.GetType() != wv.typ || e.GetUserId() != wv.user || e.GetMerchantId() != "m1" || e.GetValue() != 5980 || e.GetProductId() != "p1" {
			t.Errorf("event %s: %v", id, e)
		}
	}
}
