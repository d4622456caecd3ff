package outbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	dsn := pgtest.Database(t)
	ctx := context.Background()
	p, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if err := outbox.Migrate(ctx, p, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return p
}

// topic creates a 4-partition topic of its own and a producer for it.
func topic(t *testing.T) ([]string, string, *kgo.Client) {
	t.Helper()
	brokers := testenv.Kafka(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "tide-test-outbox-" + hex.EncodeToString(b[:])
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

// consume reads the topic from the start until want records arrived (and a
// second more, to catch duplicates) or timeout.
func consume(t *testing.T, brokers []string, topic string, want int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(timeout)
	var extra time.Time
	for time.Now().Before(deadline) && (extra.IsZero() || time.Now().Before(extra)) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
		if len(out) >= want && extra.IsZero() {
			extra = time.Now().Add(time.Second)
		}
	}
	return out
}

func roomEvent(room string, seq int) *tidev1.Event {
	return &tidev1.Event{Type: tidev1.EventType_EVENT_TYPE_STREAM_START, RoomId: room, MerchantId: "m1",
		Ts: time.Now().UnixMilli(), Attrs: map[string]string{"seq": strconv.Itoa(seq)}}
}

func add(t *testing.T, p *pgxpool.Pool, events ...*tidev1.Event) {
	t.Helper()
	ctx := context.Background()
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := outbox.Add(ctx, tx, events...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// Events reach Kafka byte for byte as written, keyed with ingest.Key, with
// the type header, once each; a rolled-back transaction publishes nothing.
func TestRelayPublishesExactlyAsWritten(t *testing.T) {
	p := pool(t)
	brokers, name, kc := topic(t)
	ctx := context.Background()
	written := []*tidev1.Event{roomEvent("r1", 0), roomEvent("r1", 1), roomEvent("r2", 0)}
	written[2].EventId = "given-id"
	add(t, p, written...)
	tx, _ := p.Begin(ctx)
	if err := outbox.Add(ctx, tx, roomEvent("r-rolled-back", 0)); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)

	r := outbox.NewRelay(p, kc, outbox.WithTopic(name))
	if n, err := r.Drain(ctx); err != nil || n != 3 {
		t.Fatalf("Drain = %d, %v; want 3", n, err)
	}
	if n, err := outbox.Pending(ctx, p); err != nil || n != 0 {
		t.Fatalf("outbox.Pending = %d, %v after drain", n, err)
	}
	got := consume(t, brokers, name, 3, 20*time.Second)
	if len(got) != 3 {
		t.Fatalf("consumed %d records, want 3", len(got))
	}
	byID := map[string]*kgo.Record{}
	for _, rec := range got {
		var e tidev1.Event
		if err := proto.Unmarshal(rec.Value, &e); err != nil {
			t.Fatal(err)
		}
		byID[e.EventId] = rec
	}
	if byID["given-id"] == nil {
		t.Error("a given event_id was replaced")
	}
	for _, w := range written {
		rec := byID[w.EventId]
		if rec == nil {
			t.Fatalf("event %s not published", w.EventId)
		}
		var e tidev1.Event
		_ = proto.Unmarshal(rec.Value, &e)
		if !proto.Equal(&e, w) {
			t.Errorf("published %v, wrote %v", &e, w)
		}
		if string(rec.Key) != w.RoomId {
			t.Errorf("key %q, want the room %q", rec.Key, w.RoomId)
		}
		heads := map[string]string{}
		for _, h := range rec.Headers {
			heads[h.Key] = string(h.Value)
		}
		if len(rec.Headers) != 2 || heads[outbox.TypeHeader] != "stream_start" || heads[ingest.ProducerHeader] != ingest.ProducerServer {
			t.Errorf("headers %v, want the type and the server as producer", heads)
		}
	}
}

// A crash after the broker acknowledged a batch and before it was marked
// sent loses nothing: the next relay publishes the same events again, with
// the same event ids.
func TestRelayCrashLosesNothing(t *testing.T) {
	p := pool(t)
	brokers, name, kc := topic(t)
	ctx := context.Background()
	add(t, p, roomEvent("r1", 0), roomEvent("r1", 1))

	crashing := outbox.NewRelay(p, kc, outbox.WithTopic(name))
	outbox.SetAfterProduce(crashing, func() error { return errors.New("crash") })
	if _, err := crashing.PublishOnce(ctx); err == nil {
		t.Fatal("crashing relay reported success")
	}
	if n, _ := outbox.Pending(ctx, p); n != 2 {
		t.Fatalf("after the crash %d rows pending, want 2", n)
	}
	if n, err := outbox.NewRelay(p, kc, outbox.WithTopic(name)).Drain(ctx); err != nil || n != 2 {
		t.Fatalf("Drain after crash = %d, %v", n, err)
	}
	got := consume(t, brokers, name, 4, 20*time.Second)
	count := map[string]int{}
	for _, rec := range got {
		var e tidev1.Event
		_ = proto.Unmarshal(rec.Value, &e)
		count[e.EventId]++
	}
	if len(got) != 4 || len(count) != 2 {
		t.Fatalf("got %d records of %d event ids, want 4 records (each published twice) of 2 ids", len(got), len(count))
	}
}

// Several relays draining one outbox publish each event once, and each
// key's events in the order they were added.
func TestConcurrentRelaysKeepPerKeyOrder(t *testing.T) {
	p := pool(t)
	brokers, name, kc := topic(t)
	ctx := context.Background()
	const rooms, perRoom = 20, 30
	for seq := range perRoom {
		var batch []*tidev1.Event
		for room := range rooms {
			batch = append(batch, roomEvent(fmt.Sprintf("r%02d", room), seq))
		}
		add(t, p, batch...)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			r := outbox.NewRelay(p, kc, outbox.WithTopic(name), outbox.WithBatch(37))
			for {
				n, err := r.Drain(ctx)
				if err != nil {
					errs <- err
					return
				}
				if left, _ := outbox.Pending(ctx, p); n == 0 && left == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := consume(t, brokers, name, rooms*perRoom, 30*time.Second)
	if len(got) != rooms*perRoom {
		t.Fatalf("consumed %d records, want %d", len(got), rooms*perRoom)
	}
	next := map[string]int{}
	seen := map[string]bool{}
	for _, rec := range got {
		var e tidev1.Event
		_ = proto.Unmarshal(rec.Value, &e)
		if seen[e.EventId] {
			t.Errorf("event %s published twice", e.EventId)
		}
		seen[e.EventId] = true
		seq, _ := strconv.Atoi(e.Attrs["seq"])
		if seq != next[e.RoomId] {
			t.Fatalf("room %s: event seq %d arrived when %d was next", e.RoomId, seq, next[e.RoomId])
		}
		next[e.RoomId]++
	}
}

// Run publishes as soon as a writer commits (NOTIFY), and prunes nothing
// that is pending.
func TestRunWakesOnNotify(t *testing.T) {
	p := pool(t)
	brokers, name, kc := topic(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- outbox.NewRelay(p, kc, outbox.WithTopic(name), outbox.WithPollInterval(time.Hour)).Run(ctx)
	}()
	time.Sleep(300 * time.Millisecond) // let it LISTEN; it drains once at start anyway
	add(t, p, roomEvent("r1", 0))
	got := consume(t, brokers, name, 1, 10*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("consumed %d records, want 1 (published on NOTIFY, the poll is an hour)", len(got))
	}
	if n, err := outbox.PruneSent(context.Background(), p, 0); err != nil || n != 1 {
		t.Fatalf("outbox.PruneSent = %d, %v; want 1", n, err)
	}
}
