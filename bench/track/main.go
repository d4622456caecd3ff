// Command track measures the throughput of the Track RPC against the real
// Kafka broker on loopback: events per second accepted in batches of 500,
// with the binary protobuf and the JSON codecs, next to the raw limit (the
// same records produced straight to the broker with the same producer
// settings and concurrency, from the same event pools, timed by the same
// loop: a 1 s warm-up, then events acknowledged over -duration), each taken
// in -rounds interleaved rounds (bench/rounds, a different side first each
// round) and reported as the median with the lowest and highest round.
// Track runs with its caller facts stamping but without the auth and
// rate-limit interceptors.
//
//	go run ./bench/track [-duration 3s] [-rounds 5] [-concurrency 8]
//
// The last line is `track_eps_proto=<int> track_eps_json=<int> raw_eps=<int>
// ratio=<float>` (ratio = proto over raw). The client, the server and the
// broker share the machine, so the figures are a floor.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/bench/rounds"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/callerfacts"
)

func main() {
	brokers := flag.String("brokers", envOr("TIDE_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka seed brokers")
	duration := flag.Duration("duration", 3*time.Second, "measuring time per side and round (after a 1s warm-up)")
	nRounds := flag.Int("rounds", 5, "interleaved rounds of raw produce, Track proto and Track JSON (at least 5)")
	concurrency := flag.Int("concurrency", 8, "Track calls in flight")
	batch := flag.Int("batch", serving.MaxTrackBatch, "events per Track call")
	partitions := flag.Int("partitions", 8, "partitions of the bench topic")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/track:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if *nRounds < 5 {
		fmt.Fprintln(os.Stderr, "bench/track: -rounds must be at least 5")
		os.Exit(2)
	}
	ctx := context.Background()
	if err := run(ctx, strings.Split(*brokers, ","), *duration, *nRounds, *concurrency, *batch, int32(*partitions)); err != nil {
		fmt.Fprintln(os.Stderr, "bench/track:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, brokers []string, duration time.Duration, nRounds, concurrency, batch int, partitions int32) error {
	admin, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	topic := fmt.Sprintf("bench.track.%d", time.Now().UnixNano())
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	res, err := adm.CreateTopic(cctx, partitions, 1, nil, topic)
	cancel()
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return fmt.Errorf("create topic on %v (is Kafka up? make services): %w", brokers, err)
	}
	defer adm.DeleteTopics(context.Background(), topic)

	fmt.Fprintf(os.Stderr, "bench/track: simulating events (topic %s, %d partitions, batches of %d, %d in flight)\n",
		topic, partitions, batch, concurrency)
	pool := simulate(concurrency, 40_000)

	producer, err := serving.NewProducer(brokers)
	if err != nil {
		return err
	}
	defer producer.Close()

	rawSend := func(_ int, b []*tidev1.Event) error {
		rs := make([]*kgo.Record, len(b))
		now := time.Now().UnixMilli()
		for i, e := range b {
			e.ReceivedAt = now
			v, err := proto.Marshal(e)
			if err != nil {
				return err
			}
			rs[i] = &kgo.Record{Topic: topic, Key: ingest.Key(e), Value: v, Headers: ingest.ProducerHeaders(ingest.ProducerTrack)}
		}
		return producer.ProduceSync(ctx, rs...).FirstErr()
	}

	facts, err := callerfacts.New(nil, []byte("bench/track ip hash key, 32 bytes"))
	if err != nil {
		return err
	}
	srv := serving.New(serving.WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	serving.NewEventService(producer, srv.Registry(), serving.WithTopic(topic), serving.WithCallerFacts(facts)).Mount(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	defer func() { stop(); <-done }()
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}}
	base := "http://" + ln.Addr().String()
	trackSend := func(opts ...connect.ClientOption) func(int, []*tidev1.Event) error {
		client := tidev1connect.NewEventServiceClient(httpClient, base, opts...)
		return func(_ int, b []*tidev1.Event) error {
			res, err := client.Track(ctx, connect.NewRequest(&tidev1.TrackRequest{Events: b}))
			if err != nil {
				return err
			}
			if int(res.Msg.GetAccepted()) != len(b) {
				return fmt.Errorf("accepted %d of %d", res.Msg.GetAccepted(), len(b))
			}
			return nil
		}
	}
	sides := []struct {
		name string
		send func(int, []*tidev1.Event) error
	}{{"raw", rawSend}, {"proto", trackSend()}, {"json", trackSend(connect.WithProtoJSON())}}

	// Interleaved rounds (bench/rounds): every round measures each side
	// once, starting with a different side each round, so drift in the
	// machine's other load touches all sides alike; the medians over rounds
	// are compared.
	round := make([]int, len(sides))
	fns := make([]func() (float64, error), len(sides))
	for k, side := range sides {
		fns[k] = func() (float64, error) {
			round[k]++
			return measure(fmt.Sprintf("%s r%d", side.name, round[k]), duration, concurrency, batch, pool, side.send)
		}
	}
	spreads, err := rounds.Run(nRounds, fns...)
	if err != nil {
		return err
	}
	raw, pb, js := spreads[0], spreads[1], spreads[2]
	fmt.Printf("raw produce (franz-go, idempotent, acks=all): %s events/s\n", raw)
	for _, c := range []struct {
		name string
		s    rounds.Spread
	}{{"proto", pb}, {"json", js}} {
		fmt.Printf("track %-5s: %s events/s; median %.2f × raw produce (no auth interceptors)\n", c.name, c.s, c.s.Median/raw.Median)
	}
	fmt.Printf("track_eps_proto=%d track_eps_json=%d raw_eps=%d ratio=%.3f\n", int64(pb.Median), int64(js.Median), int64(raw.Median), pb.Median/raw.Median)
	return nil
}

// simulate makes one pool of realistic client events (no orders or
// streams, which only the server produces) per worker. The bench gives
// them fresh event_ids and ts on every send, so Track's dedupe window never
// drops them and validation always passes.
func simulate(workers, each int) [][]*tidev1.Event {
	sim := livesim.New(livesim.WithUsers(100_000), livesim.WithSessionRate(200))
	pool := make([][]*tidev1.Event, workers)
	for w := range pool {
		pool[w] = make([]*tidev1.Event, 0, each)
		for len(pool[w]) < each {
			if e := sim.Next(); !ingest.ServerOnly(e.GetType()) { // Track refuses the platform's own facts
				pool[w] = append(pool[w], e)
			}
		}
	}
	return pool
}

// measure runs send from concurrency workers, each cycling through its pool
// in batches, for a 1s warm-up and then duration, printing progress every
// second; it returns events per second over duration.
func measure(name string, duration time.Duration, concurrency, batch int, pool [][]*tidev1.Event,
	send func(worker int, b []*tidev1.Event) error) (float64, error) {
	var (
		sent     atomic.Int64
		measured atomic.Bool
		stop     atomic.Bool
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	var seq atomic.Uint64
	for w := range concurrency {
		wg.Go(func() {
			events := pool[w]
			prefix := name[:1] + strconv.Itoa(w) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
			for off := 0; !stop.Load(); off = (off + batch) % (len(events) - batch) {
				b := events[off : off+batch]
				now := time.Now().UnixMilli()
				for _, e := range b {
					e.EventId = prefix + strconv.FormatUint(seq.Add(1), 36)
					e.Ts, e.ReceivedAt = now, 0
				}
				if err := send(w, b); err != nil {
					errOnce.Do(func() { firstErr = err })
					stop.Store(true)
					return
				}
				if measured.Load() {
					sent.Add(int64(len(b)))
				}
			}
		})
	}
	time.Sleep(time.Second)
	measured.Store(true)
	start := time.Now()
	last, lastN := start, int64(0)
	for time.Since(start) < duration && !stop.Load() {
		time.Sleep(time.Second)
		n := sent.Load()
		fmt.Fprintf(os.Stderr, "bench/track: %-12s %5.1fs %10d events  %8.0f events/s\n",
			name, time.Since(start).Seconds(), n, float64(n-lastN)/time.Since(last).Seconds())
		last, lastN = time.Now(), n
	}
	elapsed := time.Since(start)
	n := sent.Load()
	stop.Store(true)
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("%s: %w", name, firstErr)
	}
	if n == 0 {
		return 0, errors.New(name + ": nothing sent")
	}
	return float64(n) / elapsed.Seconds(), nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
