// Command ingest measures tide's event pipeline against the raw ClickHouse
// insert limit, side by side in one run:
//
//  1. it fills a fresh topic with N simulated events (livesim),
//  2. inserts the same rows straight into a fresh events table with
//     clickhouse-go's columnar API (the raw limit: no Kafka, no decoding),
//  3. drains the topic into another fresh database through the real ingest
//     path (consumer group, decode, validate, batch, insert, commit),
//  4. repeats 2 and 3 alternately (-rounds) and reports medians, so that
//     load from elsewhere on a shared machine biases neither side.
//
// Its last line is `ingest_eps=<int> raw_insert_rps=<int> ratio=<float>`.
//
//	go run ./bench/ingest -events 2000000
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ingest:", err)
		os.Exit(1)
	}
}

type flags struct {
	events, partitions, batch int
	brokers, clickhouse       string
	cpuprofile                string
	keep, verbose             bool
	rounds                    int
	rowWise                   bool
	seed                      int64
}

func run(ctx context.Context) error {
	var f flags
	flag.IntVar(&f.events, "events", 1_000_000, "events to produce and ingest")
	flag.IntVar(&f.partitions, "partitions", 4, "partitions of the fresh topic")
	flag.IntVar(&f.batch, "batch", ingest.DefaultBatchRows, "rows per insert (both paths)")
	flag.StringVar(&f.brokers, "brokers", env("TIDE_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka brokers")
	flag.StringVar(&f.clickhouse, "clickhouse", env("TIDE_CLICKHOUSE_ADDR", "127.0.0.1:19000"), "ClickHouse native address")
	flag.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of the ingest phase to this file")
	flag.BoolVar(&f.keep, "keep", false, "keep the topic and databases afterwards")
	flag.BoolVar(&f.verbose, "v", false, "log the ingester's progress")
	flag.Int64Var(&f.seed, "seed", 1, "simulation seed")
	flag.IntVar(&f.rounds, "rounds", 5, "ingest rounds, each between two raw runs (at least five, so a median is not one lucky run)")
	flag.BoolVar(&f.rowWise, "row-wise", false, "also time the row-wise Batch.Append API on the same rows")
	flag.Parse()

	stamp := time.Now().UnixMilli()
	topic := fmt.Sprintf("bench.ingest.%d", stamp)
	rawDB, ingDB := fmt.Sprintf("bench_raw_%d", stamp), fmt.Sprintf("bench_ingest_%d", stamp)

	say("simulating %d events", f.events)
	keys, values := simulate(f.events, f.seed)

	kcl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(f.brokers, ",")...),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(200_000), kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	if err != nil {
		return err
	}
	defer kcl.Close()
	if err := ingest.EnsureTopics(ctx, kcl, f.partitions, topic, topic+".dlq"); err != nil {
		return err
	}
	if err := produce(ctx, kcl, topic, keys, values); err != nil {
		return err
	}

	conn, err := ingest.OpenClickHouse(ctx, f.clickhouse)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := ingest.Migrate(ctx, conn, rawDB); err != nil {
		return err
	}
	if !f.keep {
		defer conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+rawDB)
		defer deleteTopics(kcl, topic, topic+".dlq")
	}

	// Other work on a shared machine makes single figures drift, so raw and
	// ingest alternate (raw, ingest, raw, ingest, …, raw): each ingest round
	// (a fresh consumer group and database draining the whole topic) is paired
	// with the mean of the raw runs around it, and the medians are reported.
	raws := make([]float64, 0, f.rounds+1)
	var ingests, pairedRaw []float64
	rawRound := func() error {
		if err := conn.Exec(ctx, "TRUNCATE TABLE "+rawDB+".events"); err != nil {
			return err
		}
		r, err := rawInsert(ctx, conn, rawDB, topic, values, f.batch, false)
		if err != nil {
			return err
		}
		say("raw columnar insert: %d rows/s", int(r))
		raws = append(raws, r)
		// Empty the table at once, as each ingest round drops its database,
		// so that neither side measures amid the other's background merges.
		return conn.Exec(ctx, "TRUNCATE TABLE "+rawDB+".events")
	}
	if err := rawRound(); err != nil {
		return err
	}
	for round := 1; round <= f.rounds; round++ {
		db := fmt.Sprintf("%s_%d", ingDB, round)
		eps, err := ingestAll(ctx, f, topic, fmt.Sprintf("%s.%d", topic, round), db, len(values), round == 1)
		if err != nil {
			return err
		}
		var n, uniq uint64
		if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(event_id) FROM "+db+".events").Scan(&n, &uniq); err != nil {
			return err
		}
		if !f.keep {
			if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
				return err
			}
		}
		if int(n) != len(values) || int(uniq) != len(values) {
			return fmt.Errorf("ingested %d rows (%d distinct) of %d events", n, uniq, len(values))
		}
		say("ingest round %d: %d events/s (count()=%d uniqExact(event_id)=%d)", round, int(eps), n, uniq)
		ingests = append(ingests, eps)
		if err := rawRound(); err != nil {
			return err
		}
		pairedRaw = append(pairedRaw, (raws[len(raws)-2]+raws[len(raws)-1])/2)
	}
	eps, raw := median(ingests), median(pairedRaw)
	if f.rowWise {
		if err := conn.Exec(ctx, "TRUNCATE TABLE "+rawDB+".events"); err != nil {
			return err
		}
		r, err := rawInsert(ctx, conn, rawDB, topic, values, f.batch, true)
		if err != nil {
			return err
		}
		say("row-wise Batch.Append insert: %d rows/s (columnar: %d)", int(r), int(raws[len(raws)-1]))
	}
	fmt.Printf("ingest_eps=%d raw_insert_rps=%d ratio=%.3f\n", int(eps), int(raw), eps/raw)
	return nil
}

// simulate makes n valid events and returns their record keys and wire form
// (only these stay in memory, so that the ingest phase's garbage collector
// does not scan a million retained messages). received_at is stamped with ts,
// as if Track had received each when it happened.
func simulate(n int, seed int64) (keys, values [][]byte) {
	sim := livesim.New(livesim.WithSeed(seed))
	keys, values = make([][]byte, n), make([][]byte, n)
	for i := range values {
		e := sim.Next()
		e.ReceivedAt = e.Ts
		b, err := proto.Marshal(e)
		if err != nil {
			panic(err)
		}
		keys[i], values[i] = ingest.Key(e), b
	}
	return keys, values
}

func produce(ctx context.Context, kcl *kgo.Client, topic string, keys, values [][]byte) error {
	start := time.Now()
	errc := make(chan error, 1)
	p := progress("produced", len(values))
	for i, v := range values {
		kcl.Produce(ctx, &kgo.Record{Topic: topic, Key: keys[i], Value: v, Headers: ingest.ProducerHeaders(ingest.ProducerServer)}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
		p(i + 1)
	}
	if err := kcl.Flush(ctx); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return fmt.Errorf("produce: %w", err)
	default:
	}
	say("produced %d events to %s in %s", len(values), topic, time.Since(start).Round(time.Millisecond))
	return nil
}

// rawInsert inserts the events in batches of batch rows with clickhouse-go's
// columnar API and returns rows per second, timing only the inserts (the
// columns of each batch are built from the wire form beforehand).
func rawInsert(ctx context.Context, conn driver.Conn, db, topic string, values [][]byte, batch int, rowWise bool) (float64, error) {
	var busy time.Duration
	p := progress("raw inserted", len(values))
	for lo := 0; lo < len(values); lo += batch {
		hi := min(lo+batch, len(values))
		events := make([]*tidev1.Event, 0, hi-lo)
		for _, v := range values[lo:hi] {
			e := &tidev1.Event{}
			if err := proto.Unmarshal(v, e); err != nil {
				return 0, err
			}
			events = append(events, e)
		}
		cols := columns(events, topic, lo)
		events = nil
		runtime.GC() // start each timed insert from the same clean heap
		start := time.Now()
		b, err := conn.PrepareBatch(ctx, ingest.InsertSQL(db))
		if err != nil {
			return 0, err
		}
		appendAll := cols.appendTo
		if rowWise {
			appendAll = cols.appendRows
		}
		if err := appendAll(b); err != nil {
			return 0, err
		}
		if err := b.Send(); err != nil {
			return 0, err
		}
		busy += time.Since(start)
		p(hi)
	}
	return float64(len(values)) / busy.Seconds(), nil
}

// ingestAll drains topic into db through a fresh ingester in consumer group
// group and returns events per second, from the first record consumed to the
// last row acknowledged.
func ingestAll(ctx context.Context, f flags, topic, group, db string, n int, profile bool) (float64, error) {
	log := slog.New(slog.DiscardHandler)
	if f.verbose {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	ing, err := ingest.New(ctx, ingest.WithBrokers(strings.Split(f.brokers, ",")...),
		ingest.WithTopic(topic), ingest.WithDeadLetterTopic(topic+".dlq"), ingest.WithGroup(group),
		ingest.WithClickHouse(f.clickhouse, db), ingest.WithBatch(f.batch, time.Second),
		ingest.WithLogger(log))
	if err != nil {
		return 0, err
	}
	defer ing.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ing.Run(rctx) }()

	var start time.Time
	p := progress("ingested", n)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return 0, fmt.Errorf("ingest stopped early: %v", err)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
		s := ing.Stats()
		if start.IsZero() && s.Consumed > 0 {
			start = time.Now()
			if f.cpuprofile != "" && profile {
				pf, err := os.Create(f.cpuprofile)
				if err != nil {
					return 0, err
				}
				if err := pprof.StartCPUProfile(pf); err != nil {
					return 0, err
				}
				defer pf.Close()
				defer pprof.StopCPUProfile()
			}
		}
		p(int(s.Inserted + s.DeadLettered))
		if int(s.Inserted+s.DeadLettered) >= n {
			el := time.Since(start)
			if s.DeadLettered > 0 {
				return 0, fmt.Errorf("%d simulated events were dead-lettered", s.DeadLettered)
			}
			say("ingested %d events in %s (%d batches)", n, el.Round(time.Millisecond), s.Batches)
			cancel()
			<-done
			return float64(n) / el.Seconds(), nil
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func deleteTopics(kcl *kgo.Client, topics ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = ingest.DeleteTopics(ctx, kcl, topics...)
	// the rounds' consumer groups are named after the topic
	var groups []string
	for round := 1; round <= 16; round++ {
		groups = append(groups, fmt.Sprintf("%s.%d", topics[0], round))
	}
	_, _ = kadm.NewClient(kcl).DeleteGroups(ctx, groups...)
}

// progress returns a function that prints a progress line at most every
// second (to stderr) as done grows to total.
func progress(what string, total int) func(done int) {
	last := time.Now()
	return func(done int) {
		if done == total || time.Since(last) >= time.Second {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "  %s %d/%d (%.0f%%)\n", what, done, total, 100*float64(done)/float64(total))
		}
	}
}

func say(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
