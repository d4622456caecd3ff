package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// servers holds the real Kafka and ClickHouse of an integration test.
type servers struct {
	brokers []string
	chAddr  string
	kcl     *kgo.Client // producer and admin
	ch      driver.Conn // direct, never through a test proxy
}

func needServers(t *testing.T) *servers {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test; -short")
	}
	s := &servers{brokers: testenv.Kafka(t), chAddr: testenv.ClickHouse(t)}
	var err error
	s.kcl, err = kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(100_000), kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kcl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s.ch, err = OpenClickHouse(ctx, s.chAddr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.ch.Close() })
	return s
}

var nameRE = regexp.MustCompile(`[^a-z0-9]+`)

// fresh makes a topic (with its dead-letter topic) and a database name unique
// to this test and run, and drops them afterwards.
func (s *servers) fresh(t *testing.T, partitions int) (topic, db string) {
	t.Helper()
	base := fmt.Sprintf("%s_%d", nameRE.ReplaceAllString(strings.ToLower(t.Name()), "_"), time.Now().UnixNano()%1e9)
	topic, db = "test."+base, "test_"+base
	ctx := context.Background()
	if err := EnsureTopics(ctx, s.kcl, partitions, topic, topic+".dlq"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = DeleteTopics(context.Background(), s.kcl, topic, topic+".dlq")
		_, _ = kadm.NewClient(s.kcl).DeleteGroups(context.Background(), topic) // tests use the topic as group
		_ = s.ch.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
	})
	return topic, db
}

// testEvents makes n valid events of mixed types with unique ids, ts now.
func testEvents(n int, seed uint64) []*tidev1.Event {
	r := rand.New(rand.NewPCG(seed, 7))
	now := time.Now().UnixMilli()
	types := []tidev1.EventType{
		tidev1.EventType_EVENT_TYPE_ROOM_ENTER, tidev1.EventType_EVENT_TYPE_CHAT,
		tidev1.EventType_EVENT_TYPE_LIKE, tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK,
		tidev1.EventType_EVENT_TYPE_ORDER_PAID, tidev1.EventType_EVENT_TYPE_ROOM_LEAVE,
	}
	out := make([]*tidev1.Event, n)
	for i := range out {
		e := &tidev1.Event{
			EventId: fmt.Sprintf("e-%d-%d", seed, i), Type: types[r.IntN(len(types))],
			Ts: now - int64(r.IntN(60_000)), ReceivedAt: now,
			UserId: fmt.Sprintf("u%d", r.IntN(5000)), MerchantId: fmt.Sprintf("m%d", r.IntN(20)),
			RoomId: fmt.Sprintf("r%d", r.IntN(50)), ProductId: fmt.Sprintf("p%d", r.IntN(500)),
			Value: int64(r.IntN(10_000)), Text: "好看",
			Experiments: map[string]string{"feed": []string{"a", "b"}[r.IntN(2)]},
		}
		if e.Type == tidev1.EventType_EVENT_TYPE_ORDER_PAID {
			e.Attrs = map[string]string{"order_id": "o" + e.EventId}
		}
		out[i] = e
	}
	return out
}

// placed is where a produced record landed.
type placed struct {
	partition int32
	offset    int64
}

// produce sends values (keyed by keys) to topic, calling pace before each,
// and returns where each landed. The records are tagged as tide's own
// (provenance.go), since the simulated traffic carries orders and streams.
func (s *servers) produce(t *testing.T, topic string, keys, values [][]byte, pace func(i int)) []placed {
	t.Helper()
	out := make([]placed, len(values))
	var mu sync.Mutex
	var firstErr error
	for i, v := range values {
		if pace != nil {
			pace(i)
		}
		s.kcl.Produce(context.Background(), &kgo.Record{Topic: topic, Key: keys[i], Value: v, Headers: ProducerHeaders(ProducerServer)}, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			out[i] = placed{r.Partition, r.Offset}
		})
	}
	if err := s.kcl.Flush(context.Background()); err != nil {
		t.Error(err)
	}
	if firstErr != nil {
		t.Errorf("produce: %v", firstErr)
	}
	return out
}

// wire returns the keys and encoded values of events.
func wire(t testing.TB, events []*tidev1.Event) (keys, values [][]byte) {
	for _, e := range events {
		b, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		keys, values = append(keys, Key(e)), append(values, b)
	}
	return keys, values
}

// counts returns count() and uniqExact(event_id) of db.events, without FINAL.
func (s *servers) counts(t *testing.T, db string) (n, uniq uint64) {
	t.Helper()
	n, uniq, err := s.tryCounts(db)
	if err != nil {
		t.Fatal(err)
	}
	return n, uniq
}

// rows returns count() of db.events, 0 while the table does not exist.
func (s *servers) rows(db string) uint64 {
	n, _, _ := s.tryCounts(db)
	return n
}

func (s *servers) tryCounts(db string) (n, uniq uint64, err error) {
	err = s.ch.QueryRow(context.Background(), "SELECT count(), uniqExact(event_id) FROM "+db+".events").Scan(&n, &uniq)
	return n, uniq, err
}

// committed returns the group's committed offsets for topic.
func (s *servers) committed(ctx context.Context, group, topic string) (map[int32]int64, error) {
	resp, err := kadm.NewClient(s.kcl).FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for p, o := range resp[topic] {
		if o.Err == nil && o.At >= 0 {
			out[p] = o.At
		}
	}
	return out, nil
}

// checkCommitsBehindClickHouse fails when a committed offset is past what
// ClickHouse holds (the next offset to read must be at most held+1). held is
// read after committed, so a commit racing an insert cannot fool the check.
func (s *servers) checkCommitsBehindClickHouse(t *testing.T, group, topic, db string) {
	t.Helper()
	ctx := context.Background()
	com, err := s.committed(ctx, group, topic)
	if err != nil {
		t.Logf("fetch committed offsets: %v", err)
		return
	}
	held, err := HeldOffsets(ctx, s.ch, db, topic)
	if err != nil {
		t.Logf("held offsets: %v", err)
		return
	}
	for p, c := range com {
		h, ok := held[p]
		if !ok || c > h+1 {
			t.Errorf("partition %d committed at %d but ClickHouse holds up to %d (present %v)", p, c, h, ok)
		}
	}
}

// waitCommitted waits until group's committed offsets of topic add up to n
// (a fresh topic of n records): every record was inserted and its batch
// committed, so no insert is still in flight and a copy would show.
func (s *servers) waitCommitted(t *testing.T, group, topic string, n int, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("committed offsets adding up to %d", n), func() bool {
		com, err := s.committed(context.Background(), group, topic)
		if err != nil {
			return false
		}
		var sum int64
		for _, o := range com {
			sum += o
		}
		return sum == int64(n)
	})
}

// waitFor polls cond every 200ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// testLogger logs to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
