// Command report measures the merchant reports over ClickHouse against a raw
// scan of the same rows, side by side in one run:
//
//  1. it loads N simulated events (livesim) into a fresh events table, each
//     viewer's events stamped with an arm of the experiment bench_exp, and
//     one event in a thousand inserted twice (duplicates the reports must
//     not count);
//  2. picks the session with the most events and its merchant;
//  3. in interleaved rounds times SessionReport (with its room, as the
//     dashboard asks) and ExperimentReport (the queries ReportService runs)
//     and a raw scan of the same columns of the same rows in the table the
//     reports read (report_events; no dedup, no aggregation beyond a
//     checksum; the same scan of events is printed beside it), and reports
//     the p99 of the reports and the median of the raw scan.
//
// Its last line is
// `session_p99_ms=<float> experiment_p99_ms=<float> raw_scan_ms=<float> ratio=<float>`
// with ratio = raw_scan_ms / session_p99_ms.
//
//	go run ./bench/report -events 10000000
package main

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/chschema"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/report/chreport"
	"github.com/tide-live/tide/serving/report/chreport/chtest"
)

const experiment = "bench_exp"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench/report:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	events := flag.Int("events", 10_000_000, "simulated events to load")
	addr := flag.String("clickhouse", envOr("TIDE_CLICKHOUSE_ADDR", "127.0.0.1:19000"), "ClickHouse native address")
	rounds := flag.Int("rounds", 30, "interleaved timing rounds")
	batch := flag.Int("batch", 200_000, "rows per INSERT while loading")
	keep := flag.Bool("keep", false, "keep the benchmark database")
	seed := flag.Int64("seed", 1, "simulation seed")
	dbName := flag.String("db", "", "database to load into (default: a fresh bench_report_<unix> dropped at the end)")
	reuse := flag.Bool("reuse", false, "with -db: time the events already loaded there (migrations are still applied) instead of loading; the database is kept")
	flag.Parse()
	if *reuse && *dbName == "" {
		return fmt.Errorf("-reuse needs -db")
	}

	conn, err := ingest.OpenClickHouse(ctx, *addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	db := *dbName
	if db == "" {
		db = fmt.Sprintf("bench_report_%d", time.Now().Unix())
	}
	if !*reuse {
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			return err
		}
	}
	start := time.Now()
	if _, err := chschema.Migrate(ctx, conn, db); err != nil {
		return err
	}
	if *reuse {
		fmt.Fprintf(os.Stderr, "reusing %s (migrations applied in %s)\n", db, time.Since(start).Round(time.Millisecond))
	} else {
		if !*keep {
			defer func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db) }()
		}
		if err := load(ctx, conn, db, *events, *batch, *seed); err != nil {
			return err
		}
	}
	var merchant, room, session string
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT merchant_id, room_id, live_session_id, count() AS n FROM "+db+
		".events WHERE live_session_id != '' GROUP BY merchant_id, room_id, live_session_id ORDER BY n DESC LIMIT 1").Scan(&merchant, &room, &session, &n); err != nil {
		return fmt.Errorf("pick a session: %w", err)
	}
	var minTS, maxTS int64
	if err := conn.QueryRow(ctx, "SELECT min(ts), max(ts) FROM "+db+".events").Scan(&minTS, &maxTS); err != nil {
		return err
	}
	scope := chreport.Scope{MerchantID: merchant, From: chreport.DayStart(chreport.ShanghaiDay(minTS)),
		To: chreport.DayStart(chreport.ShanghaiDay(maxTS) + 1)}
	fmt.Fprintf(os.Stderr, "session %s of merchant %s: %d rows; timing %d rounds\n", session, merchant, n, *rounds)
	store, err := chreport.New(conn, db)
	if err != nil {
		return err
	}
	var sess, exp, raw, rawEvents []float64
	for r := range *rounds {
		t0 := time.Now()
		rep, err := store.Session(ctx, merchant, room, session) // as the dashboard asks, with the room
		if err != nil {
			return err
		}
		t1 := time.Now()
		arms, err := store.Experiment(ctx, scope, experiment)
		if err != nil {
			return err
		}
		t2 := time.Now()
		if err := rawScan(ctx, conn, db, merchant, room, session); err != nil {
			return err
		}
		t3 := time.Now()
		if err := checksum(ctx, conn, db+".events", merchant, room, session); err != nil {
			return err
		}
		t4 := time.Now()
		sess, exp, raw = append(sess, ms(t1.Sub(t0))), append(exp, ms(t2.Sub(t1))), append(raw, ms(t3.Sub(t2)))
		rawEvents = append(rawEvents, ms(t4.Sub(t3)))
		if r == 0 {
			fmt.Fprintf(os.Stderr, "session: pv %d uv %d gmv %d fen; experiment: %d arms\n",
				rep.Metrics.PageViews, rep.Metrics.UniqueViewers, rep.Metrics.GmvFen, len(arms))
		}
	}
	sp99, ep99, rawMed := quantile(sess, 0.99), quantile(exp, 0.99), quantile(raw, 0.5)
	fmt.Fprintf(os.Stderr, "medians: session %.1f ms, experiment %.1f ms; raw scan of the same rows in events (ordered by date, type, room): %.1f ms\n",
		quantile(sess, 0.5), quantile(exp, 0.5), quantile(rawEvents, 0.5))
	fmt.Printf("session_p99_ms=%.1f experiment_p99_ms=%.1f raw_scan_ms=%.1f ratio=%.3f\n", sp99, ep99, rawMed, rawMed/sp99)
	return nil
}

// load inserts n simulated events, stamping arms and duplicating one in a thousand.
func load(ctx context.Context, conn driver.Conn, db string, n, batch int, seed int64) error {
	sim := livesim.New(livesim.WithSeed(seed), livesim.WithUsers(max(10_000, n/200)))
	buf := make([]*tidev1.Event, 0, batch)
	start := time.Now()
	for i := 0; i < n; i++ {
		e := sim.Next()
		if e.UserId != "" && e.Type != tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE {
			h := fnv.New32a()
			h.Write([]byte(e.UserId))
			arm := "control"
			if h.Sum32()%2 == 1 {
				arm = "treat"
			}
			if e.Experiments == nil {
				e.Experiments = map[string]string{}
			}
			e.Experiments[experiment] = arm
		}
		buf = append(buf, e)
		if i%1000 == 999 {
			buf = append(buf, e)
		}
		if len(buf) >= batch || i == n-1 {
			if err := chtest.Insert(ctx, conn, db, buf...); err != nil {
				return err
			}
			buf = buf[:0]
			fmt.Fprintf(os.Stderr, "loaded %d/%d events (%.0f/s)\n", i+1, n, float64(i+1)/time.Since(start).Seconds())
		}
	}
	return nil
}

// rawScan reads the columns the session report reads, of the same rows of
// the table it reads them from (report_events), with a checksum in place
// of the report's dedup and aggregation.
func rawScan(ctx context.Context, conn driver.Conn, db, merchant, room, session string) error {
	return checksum(ctx, conn, db+".report_events", merchant, room, session)
}

// checksum sums the report's columns of one session's rows of table.
func checksum(ctx context.Context, conn driver.Conn, table, merchant, room, session string) error {
	var (
		a, b, d uint64
		c       int64
	)
	return conn.QueryRow(ctx, "SELECT sum(length(event_id)), sum(toUInt64(type)), sum(ts + value), sum(length(user_id) + length(device_id) + length(product_id)) FROM "+
		table+" WHERE merchant_id = ? AND room_id = ? AND live_session_id = ?", merchant, room, session).Scan(&a, &b, &c, &d)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s)-1) + 0.5)
	return s[min(i, len(s)-1)]
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
