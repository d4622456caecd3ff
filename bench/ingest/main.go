// Command ingest measures tide's event pipeline against the raw ClickHouse
// insert limit, side by side in one run:
//
//  1. it fills a fresh topic with N simulated events (livesim),
//  2. real side: a fresh ingester (its own consumer group and database)
//     drains the topic through the real ingest path (consume, decode,
//     validate, batch, insert, commit); timed from the first record consumed
//     to the last row acknowledged by ClickHouse,
//  3. raw side: the same rows, already laid out in columns before the clock
//     starts, inserted into a fresh, empty events table of the same schema
//     with clickhouse-go's columnar API, in batches of the same size, one
//     insert at a time as the ingester does; timed from the first insert to
//     the last one acknowledged (no Kafka, no decoding),
//  4. both sides in one process, after a garbage collection, each round
//     starting from empty tables, in -rounds interleaved rounds (at least
//     five, a different side first each round; bench/rounds).
//
// It prints each side's median, lowest and highest round to stderr, and as
// its last line the medians and their ratio (ingest over raw):
//
//	ingest_eps=<int> raw_insert_rps=<int> ratio=<float>
//
// Run: go run ./bench/ingest -events 1000000   (-events 100000 for a quick run)
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
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/bench/rounds"
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
	flag.IntVar(&f.rounds, "rounds", rounds.Min, "interleaved rounds of ingest and raw insert (at least five, so a median is not one lucky run)")
	flag.BoolVar(&f.rowWise, "row-wise", false, "also time the row-wise Batch.Append API on the same rows")
	flag.Parse()
	if f.rounds < rounds.Min {
		return fmt.Errorf("-rounds %d: at least %d", f.rounds, rounds.Min)
	}

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

	// Lay out the raw side's batches once, outside its clock.
	batches, err := rawBatches(values, topic, f.batch)
	if err != nil {
		return err
	}
	round := 0
	ingestSide := func() (float64, error) {
		round++
		db := fmt.Sprintf("%s_%d", ingDB, round)
		runtime.GC()
		eps, err := ingestAll(ctx, f, topic, fmt.Sprintf("%s.%d", topic, round), db, len(values), round == 1)
		if err != nil {
			return 0, err
		}
		var n, uniq uint64
		if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(event_id) FROM "+db+".events").Scan(&n, &uniq); err != nil {
			return 0, err
		}
		if !f.keep {
			if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
				return 0, err
			}
		}
		if int(n) != len(values) || int(uniq) != len(values) {
			return 0, fmt.Errorf("ingested %d rows (%d distinct) of %d events", n, uniq, len(values))
		}
		say("ingest: %d events/s (count()=%d uniqExact(event_id)=%d)", int(eps), n, uniq)
		return eps, nil
	}
	rawSide := func() (float64, error) {
		if err := conn.Exec(ctx, "TRUNCATE TABLE "+rawDB+".events"); err != nil {
			return 0, err
		}
		runtime.GC()
		r, err := rawInsert(ctx, conn, rawDB, batches, len(values), false)
		if err != nil {
			return 0, err
		}
		say("raw columnar insert: %d rows/s", int(r))
		// Empty the table at once, as each ingest round drops its database,
		// so that neither side measures amid the other's background merges.
		return r, conn.Exec(ctx, "TRUNCATE TABLE "+rawDB+".events")
	}
	res, err := rounds.Run(f.rounds, ingestSide, rawSide)
	if err != nil {
		return err
	}
	ing, raw := res[0], res[1]
	say("ingest events/s: %s", ing)
	say("raw insert rows/s: %s", raw)
	eps := ing.Median
	if f.rowWise {
		if err := conn.Exec(ctx, "TRUNCATE TABLE "+rawDB+".events"); err != nil {
			return err
		}
		runtime.GC()
		r, err := rawInsert(ctx, conn, rawDB, batches, len(values), true)
		if err != nil {
			return err
		}
		say("row-wise Batch.Append insert (one run): %d rows/s (columnar median: %d)", int(r), int(raw.Median))
	}
	fmt.Printf("ingest %d events, %d rounds: ingest %s events/s; raw insert %s rows/s\n", len(values), len(ing.Runs), ing, raw)
	fmt.Printf("ingest_eps=%d raw_insert_rps=%d ratio=%.3f\n", int(eps), int(raw.Median), eps/raw.Median)
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

// rawBatches lays out the events in batches of batch rows, column by
// column (offsets are the events' index), decoded from the wire form.
func rawBatches(values [][]byte, topic string, batch int) ([]*cols, error) {
	var out []*cols
	for lo := 0; lo < len(values); lo += batch {
		hi := min(lo+batch, len(values))
		events := make([]*tidev1.Event, 0, hi-lo)
		for _, v := range values[lo:hi] {
			e := &tidev1.Event{}
			if err := proto.Unmarshal(v, e); err != nil {
				return nil, err
			}
			events = append(events, e)
		}
		out = append(out, columns(events, topic, lo))
	}
	return out, nil
}

// rawInsert inserts the batches into db.events one after another with
// clickhouse-go's columnar API (or row by row, rowWise) and returns rows per
// second, from the first insert to the last one acknowledged.
func rawInsert(ctx context.Context, conn driver.Conn, db string, batches []*cols, n int, rowWise bool) (float64, error) {
	p := progress("raw inserted", n)
	done := 0
	start := time.Now()
	for _, c := range batches {
		b, err := conn.PrepareBatch(ctx, ingest.InsertSQL(db))
		if err != nil {
			return 0, err
		}
		appendAll := c.appendTo
		if rowWise {
			appendAll = c.appendRows
		}
		if err := appendAll(b); err != nil {
			return 0, err
		}
		if err := b.Send(); err != nil {
			return 0, err
		}
		done += len(c.typ)
		p(done)
	}
	return float64(n) / time.Since(start).Seconds(), nil
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
			say("ingested %d events in %s (%d batches committed so far; commits trail the inserts)", n, el.Round(time.Millisecond), s.Batches)
			cancel()
			<-done
			return float64(n) / el.Seconds(), nil
		}
	}
}

func deleteTopics(kcl *kgo.Client, topics ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = ingest.DeleteTopics(ctx, kcl, topics...)
	// the rounds' consumer groups are named after the topic
	var groups []string
	for round := 1; round <= 64; round++ {
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
