// Command freshness measures how soon an event is visible in ClickHouse
// after Track acknowledged it, with the real ingest path (an in-process
// ingester, default batch settings) under a steady load (default 100k
// events/s for 30 s, produced straight to Kafka).
//
// About every 10 ms one of the events is a marker (type share, room
// __marker__, found through the events table's sorting key), sent through
// the real Track RPC (in process, on loopback, binary Connect, without the
// auth and rate-limit interceptors). Its ack time is the moment the
// client's Track call returned OK (Track answers once Kafka acknowledged the
// record). A poller queries ClickHouse's events table for markers every
// 20 ms; a marker's visible time is when the first query that returned it
// finished (so the figure includes up to one poll interval and the query).
// The latency of a marker is visible time minus ack time; the run fails if
// Track refused a marker or one never became visible. Not ingest's own
// view: ClickHouse, as an analyst's query sees it. There is no raw side;
// stderr has the p50/p99 of each 5 s window. The last line is
//
//	freshness_p99_ms=<float> rate_eps=<int>
//
// (p99 over every marker of the run; rate_eps the load actually produced).
//
//	go run ./bench/freshness -rate 100000 -duration 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

const markerRoom = "__marker__"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench/freshness:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	rate := flag.Int("rate", 100_000, "events per second")
	duration := flag.Duration("duration", 30*time.Second, "how long to produce")
	partitions := flag.Int("partitions", 4, "partitions of the fresh topic")
	batchWait := flag.Duration("batch-wait", ingest.DefaultBatchWait, "ingest batch max wait")
	brokers := flag.String("brokers", env("TIDE_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka brokers")
	chAddr := flag.String("clickhouse", env("TIDE_CLICKHOUSE_ADDR", "127.0.0.1:19000"), "ClickHouse native address")
	keep := flag.Bool("keep", false, "keep the topic and database afterwards")
	flag.Parse()

	stamp := time.Now().UnixMilli()
	topic, db := fmt.Sprintf("bench.freshness.%d", stamp), fmt.Sprintf("bench_freshness_%d", stamp)
	kcl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		kgo.ProducerLinger(2*time.Millisecond), kgo.MaxBufferedRecords(500_000),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	if err != nil {
		return err
	}
	defer kcl.Close()
	if err := ingest.EnsureTopics(ctx, kcl, *partitions, topic, topic+".dlq"); err != nil {
		return err
	}
	conn, err := ingest.OpenClickHouse(ctx, *chAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if !*keep {
		defer conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		defer kadm.NewClient(kcl).DeleteGroups(context.Background(), topic)
		defer ingest.DeleteTopics(context.Background(), kcl, topic, topic+".dlq")
	}

	ing, err := ingest.New(ctx, ingest.WithBrokers(strings.Split(*brokers, ",")...), ingest.WithTopic(topic),
		ingest.WithDeadLetterTopic(topic+".dlq"), ingest.WithGroup(topic), ingest.WithClickHouse(*chAddr, db),
		ingest.WithBatch(ingest.DefaultBatchRows, *batchWait),
		ingest.WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		return err
	}
	defer ing.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- ing.Run(rctx) }()

	markers, err := startMarkerTrack(rctx, strings.Split(*brokers, ","), topic)
	if err != nil {
		return err
	}
	defer markers.close()
	g := newGenerator()
	acks := &ackLog{at: map[string]time.Time{}}
	seen := map[string]time.Time{}
	// Warm up: wait until a first marker is visible (group joined, schema ready).
	say("warming up")
	warm := g.next(true)
	produce(ctx, kcl, markers, topic, warm, acks)
	if err := waitVisible(ctx, conn, db, warm.EventId, seen); err != nil {
		return err
	}

	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	pollDone := make(chan error, 1)
	go func() { pollDone <- poll(pollCtx, conn, db, seen) }()

	say("producing %d events/s for %s", *rate, *duration)
	start := time.Now()
	var sent int64
	tick := time.NewTicker(10 * time.Millisecond)
	lastReport := start
	for now := start; now.Sub(start) < *duration; now = <-tick.C {
		due := int64(now.Sub(start).Seconds() * float64(*rate))
		for first := true; sent < due; sent++ {
			produce(ctx, kcl, markers, topic, g.next(first), acks)
			first = false
		}
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			s := ing.Stats()
			say("  %s: produced %d, ingested %d", time.Since(start).Round(time.Second), sent, s.Inserted)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	tick.Stop()
	if err := kcl.Flush(ctx); err != nil {
		return err
	}
	markers.wg.Wait()
	elapsed := time.Since(start)
	// Wait for the last markers, then stop polling.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ing.Stats().Inserted < sent+1 {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	stopPoll()
	if err := <-pollDone; err != nil {
		return err
	}
	cancel()
	<-runDone

	acks.timeline(seen, warm.EventId, start)
	if n := markers.failed.Load(); n > 0 {
		return fmt.Errorf("Track did not acknowledge %d markers", n)
	}
	lat, missing := acks.latencies(seen, warm.EventId)
	if len(lat) == 0 {
		return fmt.Errorf("no marker became visible")
	}
	if missing > 0 {
		return fmt.Errorf("%d markers never became visible", missing)
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	say("%d markers: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms", len(lat), q(0.5), q(0.9), q(0.99), lat[len(lat)-1])
	fmt.Printf("freshness_p99_ms=%.1f rate_eps=%d\n", q(0.99), int(float64(sent)/elapsed.Seconds()))
	return nil
}

// generator makes valid events from the simulator, restamped to now.
type generator struct {
	pool []*tidev1.Event
	i    int
	seq  atomic.Int64
}

func newGenerator() *generator {
	sim := livesim.New(livesim.WithSeed(3))
	g := &generator{pool: make([]*tidev1.Event, 50_000)}
	for i := range g.pool {
		g.pool[i] = sim.Next()
	}
	return g
}

// next returns a fresh event: a marker when marker is set.
func (g *generator) next(marker bool) *tidev1.Event {
	n := g.seq.Add(1)
	now := time.Now().UnixMilli()
	if marker {
		return &tidev1.Event{EventId: "marker-" + strconv.FormatInt(n, 10), Type: tidev1.EventType_EVENT_TYPE_SHARE,
			Ts: now, ReceivedAt: now, UserId: "bench", RoomId: markerRoom}
	}
	e := g.pool[g.i] // reused: produce marshals it before the next call
	g.i = (g.i + 1) % len(g.pool)
	e.EventId = "ev-" + strconv.FormatInt(n, 10)
	e.Ts, e.ReceivedAt = now, now
	return e
}

// ackLog records when Track acknowledged each marker.
type ackLog struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (a *ackLog) latencies(seen map[string]time.Time, skip string) (ms []float64, missing int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, ack := range a.at {
		if id == skip {
			continue
		}
		v, ok := seen[id]
		if !ok {
			missing++
			continue
		}
		ms = append(ms, float64(v.Sub(ack).Microseconds())/1000)
	}
	return ms, missing
}

// timeline prints the p99 latency of the markers acknowledged in each 5 s
// window of the run.
func (a *ackLog) timeline(seen map[string]time.Time, skip string, start time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	win := map[int][]float64{}
	for id, ack := range a.at {
		if v, ok := seen[id]; ok && id != skip {
			w := int(ack.Sub(start) / (5 * time.Second))
			win[w] = append(win[w], float64(v.Sub(ack).Microseconds())/1000)
		}
	}
	for w := 0; w < len(win); w++ {
		l := win[w]
		slices.Sort(l)
		if len(l) > 0 {
			say("  %2ds-%2ds: %4d markers, p50 %4.0f ms, p99 %4.0f ms", 5*w, 5*w+5, len(l), l[len(l)/2], l[min(len(l)-1, len(l)*99/100)])
		}
	}
}

// produce sends the load straight to Kafka and the markers through Track.
func produce(ctx context.Context, kcl *kgo.Client, markers *markerTrack, topic string, e *tidev1.Event, acks *ackLog) {
	if e.RoomId == markerRoom {
		markers.send(ctx, e, acks)
		return
	}
	b, err := proto.Marshal(e)
	if err != nil {
		panic(err)
	}
	kcl.Produce(ctx, &kgo.Record{Topic: topic, Key: ingest.Key(e), Value: b, Headers: ingest.ProducerHeaders(ingest.ProducerServer)}, func(r *kgo.Record, err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "produce:", err)
		}
	})
}

// poll records when each marker first shows up in the events table.
func poll(ctx context.Context, conn driver.Conn, db string, seen map[string]time.Time) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if err := scan(ctx, conn, db, seen); err != nil && ctx.Err() == nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func scan(ctx context.Context, conn driver.Conn, db string, seen map[string]time.Time) error {
	rows, err := conn.Query(ctx, "SELECT event_id FROM "+db+".events WHERE date >= today() - 1 AND type = 'share' AND room_id = '"+markerRoom+"'")
	if err != nil {
		return err
	}
	defer rows.Close()
	now := time.Now()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		if _, ok := seen[id]; !ok {
			seen[id] = now
		}
	}
	return rows.Err()
}

func waitVisible(ctx context.Context, conn driver.Conn, db, id string, seen map[string]time.Time) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if err := scan(ctx, conn, db, seen); err == nil {
			if _, ok := seen[id]; ok {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("warm-up marker not visible after 2 minutes")
}

func say(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
