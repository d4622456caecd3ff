// Command live measures how soon a stream that starts or ends shows in the
// room feed: N sessions are scheduled in the room registry, their pushes
// start and later stop through a provider's callback handler (HTTP, as a
// cloud would call it), and the registry's events travel the production
// path — outbox, relay, Kafka, the feed's online features — while readers
// keep the feed under load. A watcher polls FeedService.Rooms (in process)
// and records when each room became visible and when it was gone.
//
// It runs against the real PostgreSQL (a fresh database, dropped after)
// and Kafka (a fresh topic, deleted after). The callbacks are the real
// provider's (-provider nginx: nginx-rtmp's on_publish / on_publish_done
// with tide's signed push query; tencent: Tencent CSS's JSON callbacks with
// sign = MD5(key + t)), signed as the cloud signs them (callbacks.go) and
// verified by the provider's handler before they reach the registry. Its
// last line is
// `live_start_p99_ms=<float> live_end_p99_ms=<float> sessions=<int>`.
//
//	go run ./bench/live -sessions 50 -readers 4 -provider nginx
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/live"
	livepg "github.com/tide-live/tide/live/postgres"
	"github.com/tide-live/tide/live/stream"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/feed"
	"github.com/tide-live/tide/serving/roomfeed"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench/live:", err)
		os.Exit(1)
	}
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context) error {
	sessions := flag.Int("sessions", 50, "concurrent sessions (at most 100: one feed page)")
	readers := flag.Int("readers", 4, "goroutines reading the room feed in a loop (the load)")
	brokers := flag.String("brokers", env("TIDE_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka brokers")
	pgURL := flag.String("postgres", env("TIDE_POSTGRES_URL", "postgres://tide@127.0.0.1:15432/tide?sslmode=disable"), "PostgreSQL (a fresh database is made beside it)")
	timeout := flag.Duration("timeout", 30*time.Second, "how long to wait for every room to show or go")
	provName := flag.String("provider", "nginx", "whose signed callbacks start and stop the pushes: nginx or tencent")
	flag.Parse()
	if *sessions < 1 || *sessions > 100 {
		return fmt.Errorf("-sessions %d: must be 1..100", *sessions)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	stamp := time.Now().UnixMilli()
	topic, dbName := fmt.Sprintf("bench.live.%d", stamp), fmt.Sprintf("bench_live_%d", stamp)

	dsn, drop, err := freshDatabase(ctx, *pgURL, dbName)
	if err != nil {
		return err
	}
	defer drop()
	prov, newCaller, err := benchProvider(*provName)
	if err != nil {
		return err
	}
	reg, err := livepg.Open(ctx, dsn, livepg.WithProvider(prov), livepg.WithLogger(log))
	if err != nil {
		return err
	}
	defer reg.Close()
	if err := reg.Migrate(ctx); err != nil {
		return err
	}
	kc, err := outbox.NewKafkaClient(strings.Split(*brokers, ","))
	if err != nil {
		return err
	}
	defer kc.Close()
	if err := ingest.EnsureTopics(ctx, kc, 4, topic); err != nil {
		return err
	}
	defer ingest.DeleteTopics(context.Background(), kc, topic)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_ = outbox.NewRelay(reg.Pool(), kc, outbox.WithTopic(topic), outbox.WithLogger(log)).Run(runCtx)
	}()
	store := features.NewStore(features.WithLogger(log))
	go func() {
		_ = features.Follow(runCtx, store, strings.Split(*brokers, ","), topic, features.From(time.Now().Add(-time.Minute)),
			features.WithFollowLogger(log))
	}()
	arrivals := trackArrivals(runCtx, strings.Split(*brokers, ","), topic)
	cat := feed.NewCatalog()
	go roomfeed.New(reg, nil, cat, roomfeed.WithLogger(log)).Run(runCtx)
	svc, err := feed.New(store, feed.WithCatalog(cat), feed.WithLogger(log))
	if err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "bench/live: scheduling %d sessions\n", *sessions)
	ids := make([]string, *sessions)   // session = stream
	rooms := make([]string, *sessions) // room of ids[i]
	now := time.Now()
	for i := range ids {
		r, err := reg.CreateRoom(ctx, live.Room{MerchantID: fmt.Sprintf("bench-m%03d", i), Title: fmt.Sprintf("压测直播间 %d", i),
			Category: fmt.Sprintf("cat%d", i%8), AnchorName: "主播"})
		if err != nil {
			return err
		}
		s, err := reg.ScheduleSession(ctx, r.MerchantID, r.ID, now.Add(time.Minute), now.Add(2*time.Hour))
		if err != nil {
			return err
		}
		ids[i], rooms[i] = s.ID, r.ID
	}
	// A running tide serve's relay, follower and feed are long up: wait
	// until the schedules' room_changed events came through Kafka, so the
	// consumers' group join and first fetch are not timed as room latency.
	if err := arrivals.wait(ctx, tidev1.EventType_EVENT_TYPE_ROOM_CHANGED, ids, *timeout); err != nil {
		return err
	}
	time.Sleep(time.Second) // the features follower joined with the arrivals consumer; let it catch up too
	cb := httptest.NewServer(prov.Callbacks(reg))
	defer cb.Close()
	calls := newCaller(cb.URL, cb.Client())

	var wg sync.WaitGroup
	for k := range *readers {
		wg.Go(func() {
			for n := 0; runCtx.Err() == nil; n++ {
				_, _ = svc.Rooms(runCtx, fmt.Sprintf("bench-reader-%d-%d", k, n%500), &tidev1.RoomsRequest{PageSize: 20})
			}
		})
	}
	defer wg.Wait()
	defer cancel()

	fmt.Fprintf(os.Stderr, "bench/live: %d signed %s callbacks start the pushes, %d readers load the feed\n", len(ids), prov.Name(), *readers)
	starts, startSent, err := measure(ctx, svc, calls.publish, stream.KindPublish, ids, rooms, true, *timeout)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench/live: every room visible; stopping the pushes\n")
	ends, endSent, err := measure(ctx, svc, calls.disconnect, stream.KindDisconnect, ids, rooms, false, *timeout)
	if err != nil {
		return err
	}
	for _, k := range []struct {
		name string
		t    tidev1.EventType
		sent map[string]time.Time
	}{{"stream_start", tidev1.EventType_EVENT_TYPE_STREAM_START, startSent}, {"stream_end", tidev1.EventType_EVENT_TYPE_STREAM_END, endSent}} {
		ms := arrivals.since(k.t, k.sent)
		fmt.Fprintf(os.Stderr, "bench/live: callback → %s on Kafka p50 %.1f ms p99 %.1f ms (%d records)\n", k.name, pct(ms, 50), pct(ms, 99), len(ms))
	}
	fmt.Fprintf(os.Stderr, "bench/live: start p50 %.1f ms p99 %.1f ms max %.1f ms; end p50 %.1f ms p99 %.1f ms max %.1f ms (target: p99 ≤ 1000 ms)\n",
		pct(starts, 50), pct(starts, 99), pct(starts, 100), pct(ends, 50), pct(ends, 99), pct(ends, 100))
	fmt.Printf("live_start_p99_ms=%.1f live_end_p99_ms=%.1f sessions=%d\n", pct(starts, 99), pct(ends, 99), len(ids))
	return nil
}

// measure sends a signed callback (call: publish or disconnect, of kind)
// for every session at once and returns, in ms, how long each room took to
// become visible (want) or gone (!want) in the room feed, and when each
// session's callback was sent.
func measure(ctx context.Context, svc *feed.Service, call func(ctx context.Context, streamName, seq string) error, kind stream.Kind,
	ids, rooms []string, want bool, timeout time.Duration) ([]float64, map[string]time.Time, error) {
	sent := make([]time.Time, len(ids))
	answered := make([]float64, len(ids)) // ms until the callback's answer
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for i, id := range ids {
		wg.Go(func() {
			sent[i] = time.Now()
			// one push per session, each with its own id, as a cloud numbers them
			if err := call(ctx, id, strconv.Itoa(1000+i)); err != nil {
				errs <- fmt.Errorf("%s callback of %s: %w", kind, id, err)
			}
			answered[i] = float64(time.Since(sent[i]).Microseconds()) / 1000
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return nil, nil, err
	}
	slices.Sort(answered)
	fmt.Fprintf(os.Stderr, "bench/live: %s callbacks answered in p50 %.1f ms p99 %.1f ms\n", kind, pct(answered, 50), pct(answered, 99))
	sentBy := make(map[string]time.Time, len(ids))
	for i, id := range ids {
		sentBy[id] = sent[i]
	}
	seen := make([]time.Time, len(ids))
	left := len(ids)
	deadline := time.Now().Add(timeout)
	for n := 0; left > 0; n++ {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, nil, fmt.Errorf("%d of %d rooms not %s in the feed after %s", left, len(ids), map[bool]string{true: "visible", false: "gone"}[want], timeout)
		}
		res, err := svc.Rooms(ctx, fmt.Sprintf("bench-watcher-%d", n), &tidev1.RoomsRequest{PageSize: 100})
		if err != nil {
			return nil, nil, err
		}
		at := time.Now()
		live := map[string]bool{}
		for _, it := range res.GetItems() {
			if it.GetStatus() == tidev1.RoomStatus_ROOM_STATUS_LIVE {
				live[it.GetRoomId()] = true
			}
		}
		for i, r := range rooms {
			if seen[i].IsZero() && live[r] == want && !sent[i].IsZero() {
				seen[i] = at
				left--
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	out := make([]float64, len(ids))
	for i := range ids {
		out[i] = float64(seen[i].Sub(sent[i]).Microseconds()) / 1000
	}
	slices.Sort(out)
	return out, sentBy, nil
}

// pct is the p-th percentile (nearest rank) of sorted xs.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(float64(len(xs))*p/100+0.999999) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// freshDatabase creates database name beside admin's and returns its URL
// and a function that drops it.
func freshDatabase(ctx context.Context, admin, name string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}

// arrivals records when each session's stream_start / stream_end record
// reached the topic (consumed at once), to split the latency into the
// registry→Kafka part and the Kafka→feed part.
type arrivals struct {
	mu sync.Mutex
	at map[tidev1.EventType]map[string]time.Time
}

func trackArrivals(ctx context.Context, brokers []string, topic string) *arrivals {
	a := &arrivals{at: map[tidev1.EventType]map[string]time.Time{}}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.FetchMaxWait(50*time.Millisecond),
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return a
	}
	go func() {
		defer cl.Close()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				var e tidev1.Event
				if proto.Unmarshal(r.Value, &e) != nil {
					return
				}
				a.mu.Lock()
				if a.at[e.Type] == nil {
					a.at[e.Type] = map[string]time.Time{}
				}
				a.at[e.Type][e.LiveSessionId] = now
				a.mu.Unlock()
			})
		}
	}()
	return a
}

// wait returns once a record of type t of every session in ids arrived, or
// an error after timeout.
func (a *arrivals) wait(ctx context.Context, t tidev1.EventType, ids []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		a.mu.Lock()
		n := 0
		for _, id := range ids {
			if _, ok := a.at[t][id]; ok {
				n++
			}
		}
		a.mu.Unlock()
		if n == len(ids) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("warm-up: %d of %d sessions' %s events reached Kafka in %s", n, len(ids), t, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// since returns, sorted, the ms from sent[session] to the arrival of its
// record of type t.
func (a *arrivals) since(t tidev1.EventType, sent map[string]time.Time) []float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []float64
	for id, s := range sent {
		if at, ok := a.at[t][id]; ok {
			out = append(out, float64(at.Sub(s).Microseconds())/1000)
		}
	}
	slices.Sort(out)
	return out
}
