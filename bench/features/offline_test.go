package features_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tide-live/tide/bench/rounds"
	"github.com/tide-live/tide/features/eventstest"
	"github.com/tide-live/tide/features/offline"
)

// offlineEvents is the size of the generated events table:
// TIDE_BENCH_OFFLINE_EVENTS, default 2,000,000 (the brief's figure is 10M).
func offlineEvents() int {
	if n, err := strconv.Atoi(os.Getenv("TIDE_BENCH_OFFLINE_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 2_000_000
}

// BenchmarkOfflineExtract generates an events table inside ClickHouse
// (INSERT … SELECT FROM numbers: 100k users, 20k products, 500 anchors, an
// even mix of product and room events over a week) and extracts both
// interaction matrices. The raw limit is ClickHouse running the same
// aggregation with nothing sent back (SELECT count() over it); the two are
// timed the same way in five interleaved rounds and their medians compared.
// It runs once whatever b.N.
func BenchmarkOfflineExtract(b *testing.B) {
	conn, db := eventstest.Open(b)
	n := offlineEvents()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	step := (7 * 24 * time.Hour).Milliseconds() / int64(n)
	gen := `INSERT INTO ` + db + `.events (event_id, type, ts, received_at, user_id, device_id, merchant_id,
	    room_id, live_session_id, product_id, request_id, position, value, text, kafka_topic, kafka_partition, kafka_offset)
	SELECT concat('e', toString(number)) AS event_id,
	    arrayElement(['product_click', 'product_click', 'add_to_cart', 'order_created', 'order_paid', 'product_impression',
	                  'room_enter', 'room_leave', 'chat', 'like', 'gift', 'follow'], (intHash32(number) % 12) + 1) AS type,
	    ` + strconv.FormatInt(from.UnixMilli(), 10) + ` + number * ` + strconv.FormatInt(step, 10) + ` AS ts,
	    ts + 50 AS received_at,
	    concat('u', toString(intHash32(number + 1 * 1000000007) % 100000)) AS user_id, '' AS device_id,
	    concat('m', toString(intHash32(number + 2 * 1000000007) % 500)) AS merchant_id,
	    concat('r', toString(intHash32(number + 2 * 1000000007) % 500)) AS room_id, '' AS live_session_id,
	    if(type IN ('room_enter', 'room_leave', 'chat', 'like', 'gift', 'follow'), '', concat('p', toString(intHash32(number + 3 * 1000000007) % 20000))) AS product_id,
	    '' AS request_id, 0 AS position, toInt64(intHash32(number + 4 * 1000000007) % 600000) AS value, '' AS text,
	    'bench' AS kafka_topic, 0 AS kafka_partition, toInt64(number) AS kafka_offset
	FROM numbers(` + strconv.Itoa(n) + `)`
	began := time.Now()
	if err := conn.Exec(ctx, gen); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d events in %v", n, time.Since(began).Round(time.Millisecond))

	x := offline.New(conn, offline.WithTable(db, "events"), offline.WithProgress(func(offline.Progress) {}, time.Hour))
	to := from.Add(8 * 24 * time.Hour)
	b.ResetTimer()
	for _, kind := range []offline.ItemKind{offline.Products, offline.Anchors} {
		q := offline.Query{Kind: kind, From: from, To: to}
		sql, _ := x.SQL(q)
		prune := from.Add(-8 * 24 * time.Hour)
		var users, items, nnz int
		// The extraction and the raw aggregation in interleaved rounds
		// (bench/rounds), each timed from query to result, as events/s.
		res, err := rounds.Run(rounds.Min,
			func() (float64, error) {
				began := time.Now()
				m, err := x.Matrix(ctx, q)
				if err != nil {
					return 0, err
				}
				took := time.Since(began)
				users, items = m.Dims()
				nnz = m.NNZ()
				return float64(n) / took.Seconds(), nil
			},
			func() (float64, error) {
				began := time.Now()
				var pairs uint64
				if err := conn.QueryRow(ctx, "SELECT count() FROM ("+sql+")", prune, from.UnixMilli(), to.UnixMilli()).Scan(&pairs); err != nil {
					return 0, err
				}
				return float64(n) / time.Since(began).Seconds(), nil
			})
		if err != nil {
			b.Fatal(err)
		}
		ext, raw := res[0], res[1]
		b.Logf("%s: %d events → %d users × %d items, %d pairs; extraction %s events/s; ClickHouse alone %s events/s; ratio of medians %.2f",
			kind, n, users, items, nnz, ext, raw, ext.Median/raw.Median)
		b.ReportMetric(ext.Median, kind.String()+"-events/s")
		b.ReportMetric(ext.Median/raw.Median, kind.String()+"-ratio_to_raw")
	}
}
