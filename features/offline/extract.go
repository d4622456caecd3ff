package offline

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/tide-live/tide/ingest"
)

// ErrTooLittleData is wrapped by the error of an extraction whose result is
// below the configured minimums (see WithMinimum).
var ErrTooLittleData = errors.New("too little interaction data")

// Schema is the schema of the record batches: one row per (user, item)
// pair with the time of the latest interaction and the summed weight.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "user_id", Type: arrow.BinaryTypes.String},
	{Name: "item_id", Type: arrow.BinaryTypes.String},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	{Name: "weight", Type: arrow.PrimitiveTypes.Float32},
}, nil)

// Column indices of Schema.
const (
	ColUser = iota
	ColItem
	ColTime
	ColWeight
)

// Query selects the interactions of one kind received in [From, To).
type Query struct {
	Kind     ItemKind
	From, To time.Time
}

// Progress reports how an extraction is going.
type Progress struct {
	Pairs     int64  // (user, item) rows received so far
	Batches   int    // record batches emitted
	ReadRows  uint64 // events ClickHouse has scanned
	TotalRows uint64 // events ClickHouse expects to scan (0 until known)
	Elapsed   time.Duration
	Done      bool
}

// Option configures an Extractor.
type Option func(*Extractor)

// Extractor pulls interactions from ClickHouse's events table.
type Extractor struct {
	conn        driver.Conn
	table       string
	weights     Weights
	batchRows   int
	alloc       memory.Allocator
	anonymous   bool
	dedupe      bool
	exclude     string
	minUsers    int
	minItems    int
	minPairs    int
	progress    func(Progress)
	progressGap time.Duration
	log         *slog.Logger
}

// WithTable sets the database and table (default tide.events).
func WithTable(database, table string) Option {
	return func(x *Extractor) { x.table = database + "." + table }
}

// WithWeights sets the event weights (default DefaultWeights).
func WithWeights(w Weights) Option { return func(x *Extractor) { x.weights = w } }

// WithBatchRows sets the rows per record batch (default 65,536).
func WithBatchRows(n int) Option { return func(x *Extractor) { x.batchRows = max(n, 1) } }

// WithAllocator sets the Arrow allocator (default memory.DefaultAllocator).
func WithAllocator(a memory.Allocator) Option { return func(x *Extractor) { x.alloc = a } }

// WithAnonymous includes viewers without a user_id as users named
// "device:" + device_id (default: only signed-in users).
func WithAnonymous(on bool) Option { return func(x *Extractor) { x.anonymous = on } }

// WithDedupe counts each event_id once even when the events table still
// holds an unmerged duplicate (LIMIT 1 BY event_id; slower and memory-heavy
// on large ranges). Off by default: ingest stores each event once.
func WithDedupe(on bool) Option { return func(x *Extractor) { x.dedupe = on } }

// WithExclude adds an SQL condition over the events table's columns that
// an event must meet to count, e.g. fraudch.ExcludePredicate(db) to leave
// flagged accounts and devices out of training. It is spliced into the
// query: pass only a predicate the program built, never user input.
func WithExclude(predicate string) Option { return func(x *Extractor) { x.exclude = predicate } }

// WithMinimum sets how many users, items and (user, item) pairs an
// extraction needs; fewer is ErrTooLittleData. Defaults 5, 5 and 50.
func WithMinimum(users, items, pairs int) Option {
	return func(x *Extractor) { x.minUsers, x.minItems, x.minPairs = users, items, pairs }
}

// WithProgress calls f about every interval while extracting, and once at
// the end with Done set. Without it progress is logged at Info every 5 s.
func WithProgress(f func(Progress), interval time.Duration) Option {
	return func(x *Extractor) { x.progress, x.progressGap = f, interval }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(x *Extractor) { x.log = l } }

// New returns an Extractor reading from conn.
func New(conn driver.Conn, opts ...Option) *Extractor {
	x := &Extractor{conn: conn, table: "tide.events", weights: DefaultWeights(), batchRows: 1 << 16,
		alloc: memory.DefaultAllocator, minUsers: 5, minItems: 5, minPairs: 50,
		progressGap: 5 * time.Second, log: slog.Default()}
	for _, o := range opts {
		o(x)
	}
	return x
}

var tableRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$`)

// SQL is the aggregating query of q (for logs and EXPLAIN). Its arguments are
// the prune date, From and To in Unix ms.
func (x *Extractor) SQL(q Query) (string, error) {
	if !tableRE.MatchString(x.table) {
		return "", fmt.Errorf("offline: table %q is not database.table", x.table)
	}
	if err := x.weights.Validate(); err != nil {
		return "", err
	}
	item, types, weight := x.weights.sql(q.Kind)
	user := "user_id"
	if x.anonymous {
		user = "if(user_id != '', user_id, if(device_id != '', concat('device:', device_id), ''))"
	}
	exclude := ""
	if x.exclude != "" {
		exclude = "\n      AND (" + x.exclude + ")"
	}
	dedupe := ""
	if x.dedupe {
		dedupe = "\n    LIMIT 1 BY event_id"
	}
	return `SELECT user, item, max(received_at) AS last_ms, toFloat32(sum(w)) AS weight
FROM (
    SELECT ` + user + ` AS user, ` + item + ` AS item, received_at, ` + weight + ` AS w
    FROM ` + x.table + `
    WHERE date >= toDate(?) AND received_at >= ? AND received_at < ?
      AND type IN ('` + strings.Join(types, "', '") + `')` + exclude + dedupe + `
)
WHERE user != '' AND item != ''
GROUP BY user, item
HAVING weight > 0
ORDER BY user, item`, nil
}

// Batches streams the interactions of q as Arrow record batches of Schema,
// ordered by user then item. A record is released when the loop body
// returns; Retain it to keep it. On failure the sequence yields one nil
// record with the error and stops. Breaking out of the loop cancels the
// query.
func (x *Extractor) Batches(ctx context.Context, q Query) iter.Seq2[arrow.Record, error] {
	return func(yield func(arrow.Record, error) bool) {
		if err := x.batches(ctx, q, yield); err != nil {
			yield(nil, err)
		}
	}
}

type stop struct{}

func (stop) Error() string { return "stopped" }

func (x *Extractor) batches(ctx context.Context, q Query, yield func(arrow.Record, error) bool) error {
	if !q.From.Before(q.To) {
		return fmt.Errorf("offline: empty time range [%s, %s)", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	query, err := x.SQL(q)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	began := time.Now()
	var read, total atomic.Uint64
	ctx = clickhouse.Context(ctx, clickhouse.WithProgress(func(p *clickhouse.Progress) {
		read.Add(p.Rows)
		total.Add(p.TotalRows)
	}))
	// Partitions and the primary key lead with the client's date, which
	// validation keeps within MaxPast of received_at.
	prune := q.From.Add(-ingest.DefaultLimits().MaxPast - 24*time.Hour).UTC()
	rows, err := x.conn.Query(ctx, query, prune, q.From.UnixMilli(), q.To.UnixMilli())
	if err != nil {
		return fmt.Errorf("offline: query %s: %w", x.table, err)
	}
	defer rows.Close()

	b := array.NewRecordBuilder(x.alloc, Schema)
	defer b.Release()
	users := b.Field(ColUser).(*array.StringBuilder)
	items := b.Field(ColItem).(*array.StringBuilder)
	times := b.Field(ColTime).(*array.TimestampBuilder)
	weights := b.Field(ColWeight).(*array.Float32Builder)
	p := Progress{}
	lastReport := time.Now()
	report := func(done bool) {
		p.ReadRows, p.TotalRows, p.Elapsed, p.Done = read.Load(), total.Load(), time.Since(began), done
		if x.progress != nil {
			x.progress(p)
		} else {
			x.log.Info("offline: extracting", "kind", q.Kind, "pairs", p.Pairs, "batches", p.Batches,
				"events_read", p.ReadRows, "events_total", p.TotalRows, "elapsed", p.Elapsed.Round(time.Millisecond), "done", done)
		}
	}
	flush := func() bool {
		rec := b.NewRecord()
		p.Batches++
		ok := yield(rec, nil)
		rec.Release()
		return ok
	}
	var (
		user, item string
		last       int64
		weight     float32
		n          int
	)
	for rows.Next() {
		if err := rows.Scan(&user, &item, &last, &weight); err != nil {
			return fmt.Errorf("offline: scan: %w", err)
		}
		users.Append(user)
		items.Append(item)
		times.Append(arrow.Timestamp(last))
		weights.Append(weight)
		p.Pairs++
		if n++; n == x.batchRows {
			n = 0
			if !flush() {
				return nil // the consumer stopped
			}
		}
		if time.Since(lastReport) >= x.progressGap {
			lastReport = time.Now()
			report(false)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("offline: read %s: %w", x.table, err)
	}
	if n > 0 && !flush() {
		return nil
	}
	report(true)
	return nil
}
