// Package fraudch writes anti-fraud flags (features/fraud) to ClickHouse's
// fraud_flags table (migration 0020_fraud_flags) and gives the SQL predicate
// that leaves flagged traffic out of queries over events.
package fraudch

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/features/fraud"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Table is the flags table's name.
const Table = "fraud_flags"

// ExcludePredicate is the SQL condition, over the columns of database's
// events table (user_id, device_id), that keeps only traffic whose account
// and device are not flagged: AND it into a WHERE clause. It reads
// fraud_flags as sets (IN), so rows written twice for one flag do not
// matter. database must be a plain identifier (it is spliced into SQL); a
// bad one gives a predicate that fails to parse rather than one that
// injects.
func ExcludePredicate(database string) string {
	if !identRE.MatchString(database) {
		database = "`invalid database name`"
	}
	t := database + "." + Table
	return "(user_id NOT IN (SELECT subject_id FROM " + t + " WHERE subject_kind = 'user')" +
		" AND device_id NOT IN (SELECT subject_id FROM " + t + " WHERE subject_kind = 'device'))"
}

// Option configures a Writer.
type Option func(*Writer)

// WithMaxBuffered bounds the flags kept while ClickHouse is unreachable
// (default 100,000); beyond it the oldest are dropped and logged.
func WithMaxBuffered(n int) Option { return func(w *Writer) { w.maxBuf = max(n, 1) } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(w *Writer) { w.log = l } }

// Writer buffers flags and inserts them into fraud_flags. Add is safe for
// concurrent use and never blocks on ClickHouse.
type Writer struct {
	conn    driver.Conn
	table   string
	maxBuf  int
	log     *slog.Logger
	mu      sync.Mutex
	buf     []fraud.Flag
	dropped int64
}

// NewWriter returns a writer into database.fraud_flags.
func NewWriter(conn driver.Conn, database string, opts ...Option) (*Writer, error) {
	if !identRE.MatchString(database) {
		return nil, fmt.Errorf("fraudch: database %q is not a plain identifier", database)
	}
	w := &Writer{conn: conn, table: database + "." + Table, maxBuf: 100_000, log: slog.Default()}
	for _, o := range opts {
		o(w)
	}
	return w, nil
}

// Add queues a flag for the next Flush; fraud.WithSink(w.Add) feeds it.
func (w *Writer) Add(f fraud.Flag) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) >= w.maxBuf {
		w.buf = w.buf[1:]
		w.dropped++
	}
	w.buf = append(w.buf, f)
}

// Pending is the number of flags not yet written.
func (w *Writer) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf)
}

// Flush inserts the queued flags in one batch. On failure they stay queued
// for the next Flush.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	batch := w.buf
	w.buf = nil
	w.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := w.Write(ctx, batch); err != nil {
		w.mu.Lock()
		w.buf = append(batch, w.buf...)
		if over := len(w.buf) - w.maxBuf; over > 0 {
			w.buf = w.buf[over:]
			w.dropped += int64(over)
		}
		w.mu.Unlock()
		return err
	}
	return nil
}

// Write inserts flags now, bypassing the queue.
func (w *Writer) Write(ctx context.Context, flags []fraud.Flag) error {
	b, err := w.conn.PrepareBatch(ctx, "INSERT INTO "+w.table+
		" (subject_kind, subject_id, rule, reason, measure, room_id, flagged_at)")
	if err != nil {
		return fmt.Errorf("fraudch: prepare insert into %s: %w", w.table, err)
	}
	for _, f := range flags {
		if err := b.Append(f.Kind.String(), f.ID, f.Rule.String(), f.Reason, f.Measure, f.RoomID, f.At.UnixMilli()); err != nil {
			_ = b.Abort()
			return fmt.Errorf("fraudch: append flag %s %s: %w", f.Kind, f.ID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("fraudch: insert %d flags into %s: %w", len(flags), w.table, err)
	}
	return nil
}

// Run flushes every interval until ctx ends, then flushes once more (with a
// short deadline of its own) and returns ctx's error. Failures are logged
// and retried at the next interval.
func (w *Writer) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := w.Flush(fctx); err != nil {
				w.log.Warn("fraudch: final flush", "err", err, "pending", w.Pending())
			}
			cancel()
			return ctx.Err()
		case <-t.C:
			if err := w.Flush(ctx); err != nil {
				w.log.Warn("fraudch: flush failed, will retry", "err", err, "pending", w.Pending())
			}
			w.mu.Lock()
			d := w.dropped
			w.dropped = 0
			w.mu.Unlock()
			if d > 0 {
				w.log.Warn("fraudch: dropped flags, buffer full", "dropped", d)
			}
		}
	}
}

// Restore marks every flag database holds as flagged in eng, so a
// restarted engine keeps excluding what was flagged before. It returns how
// many flags it restored.
func Restore(ctx context.Context, conn driver.Conn, database string, eng *fraud.Engine) (int, error) {
	rows, err := Flags(ctx, conn, database)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rows {
		k, ok1 := fraud.ParseKind(r.Kind)
		ru, ok2 := fraud.ParseRule(r.Rule)
		if ok1 && ok2 {
			eng.Restore(k, r.ID, ru)
			n++
		}
	}
	return n, nil
}

// Row is one flag as stored, deduplicated.
type Row struct {
	Kind, ID, Rule, Reason string
	Rows                   uint64 // rows stored for this flag (more than one after re-flagging)
}

// Flags reads database's flags, one per (subject, rule), latest reason.
func Flags(ctx context.Context, conn driver.Conn, database string) ([]Row, error) {
	if !identRE.MatchString(database) {
		return nil, fmt.Errorf("fraudch: database %q is not a plain identifier", database)
	}
	rows, err := conn.Query(ctx, `SELECT toString(subject_kind), subject_id, toString(rule),
	  argMax(reason, flagged_at), count()
	FROM `+database+"."+Table+`
	GROUP BY subject_kind, subject_id, rule
	ORDER BY subject_kind, subject_id, rule`)
	if err != nil {
		return nil, fmt.Errorf("fraudch: read flags: %w", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Kind, &r.ID, &r.Rule, &r.Reason, &r.Rows); err != nil {
			return nil, fmt.Errorf("fraudch: scan flag: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
