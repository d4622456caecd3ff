// Package chreport reads the merchant reports from ClickHouse's events
// table: session and daily figures, funnels, per-product rows, the live
// minute series and A/B sums. Every query is scoped by a merchant id the
// caller took from credentials.
//
// Exactly-once: the reports read report_events (ClickHouse migration
// 0007), the report columns of events ordered by (merchant_id,
// live_session_id, event_id), so a merchant's or a session's rows are found
// by the primary key instead of scanned out of every row of their days. Its
// duplicates, like events', collapse only when parts merge, so every figure
// is an aggregate that a copy of an event cannot change — never FINAL, and
// no GROUP BY event_id over all of a session's rows (that hash was most of
// a report's time): counts are distinct event hashes (countOf), sums are
// over distinct (event hash, value) pairs (sumOf), people are distinct
// (uniqExact), times are min and max. Store.rows is the one reading of the
// table. The A/B report takes a viewer's arm from experiment_arms
// (migration 0008), whose any() states absorb duplicates.
//
// Fraud: every figure leaves out the events of accounts and devices in
// fraud_flags (fraudch.ExcludePredicate, applied in rows); Exclusion says
// how much was left out. fraud_flags is created by the ClickHouse migration
// 0020_fraud_flags, so a database without it was not migrated: the reports
// refuse it (ErrNoFlagsTable) rather than show unfiltered figures as
// filtered ones.
//
// Days: Asia/Shanghai has been UTC+8 without daylight saving since 1991, so
// a Shanghai day is intDiv(ts + 8h, 24h) in SQL and ShanghaiDay in Go.
package chreport

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/features/fraud/fraudch"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// ErrNotFound is returned when the merchant has no events for what was asked.
var ErrNotFound = errors.New("not found")

// ErrNoFlagsTable is returned when the database has no fraud_flags table
// (ClickHouse migration 0020_fraud_flags not applied), so flagged traffic
// cannot be left out.
var ErrNoFlagsTable = errors.New("fraud_flags table missing: apply the ClickHouse migrations (tide migrate; 0020_fraud_flags)")

// Shanghai is Asia/Shanghai: UTC+8, no daylight saving since 1991.
var Shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

const (
	dayMS         = int64(24 * time.Hour / time.Millisecond)
	shanghaiOffMS = int64(8 * time.Hour / time.Millisecond)
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Store runs the report queries on one ClickHouse database.
type Store struct {
	conn    driver.Conn
	db      string
	now     func() time.Time
	exclude string      // fraudch.ExcludePredicate(db)
	flags   atomic.Bool // fraud_flags was seen (a table, once there, stays)
}

// Option configures New.
type Option func(*Store)

// WithClock sets the clock that decides whether a session is live (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a Store reading database db (migrated by ingest/chschema)
// through conn.
func New(conn driver.Conn, db string, opts ...Option) (*Store, error) {
	if !identRE.MatchString(db) {
		return nil, fmt.Errorf("chreport: database name %q is not a plain identifier", db)
	}
	s := &Store{conn: conn, db: db, now: time.Now, exclude: fraudch.ExcludePredicate(db)}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Ping checks ClickHouse answers.
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// Scope is what a query reads: one merchant's events, optionally one room
// and one live session, in [From, To) Unix ms (zero: unbounded).
type Scope struct {
	MerchantID string
	RoomID     string
	SessionID  string
	From, To   int64
}

// where is the WHERE clause of scope over the raw events table.
func (sc Scope) where() (string, []any) {
	conds := []string{"merchant_id = ?"}
	args := []any{sc.MerchantID}
	if sc.RoomID != "" {
		conds, args = append(conds, "room_id = ?"), append(args, sc.RoomID)
	}
	if sc.SessionID != "" {
		conds, args = append(conds, "live_session_id = ?"), append(args, sc.SessionID)
	}
	if sc.From != 0 {
		conds = append(conds, "date >= toDate(?)", "ts >= ?")
		args = append(args, utcDate(sc.From), sc.From)
	}
	if sc.To != 0 {
		conds = append(conds, "date <= toDate(?)", "ts < ?")
		args = append(args, utcDate(sc.To-1), sc.To)
	}
	return strings.Join(conds, " AND "), args
}

// utcDate is the UTC calendar day of ms, as the events table's date column has it.
func utcDate(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.DateOnly) }

// rows is the one reading of events: every row of scope in report_events
// (copies of an event included), flagged accounts and devices left out,
// with columns eh (event hash), uh (viewer hash: user, or "d:"+device
// when anonymous), et (type), ets (ts), ev (value), ep (product), er
// (room). Read it only with aggregates that copies cannot change: countOf,
// sumOf (for few events: it keeps every pair), uniqExact, min, max, any, or
// distinct events per (minute, type, value) times the value (minuteCounts).
func (s *Store) rows(sc Scope) (string, []any) {
	where, args := sc.where()
	where += " AND " + s.exclude
	return `SELECT eh, uh, type AS et, ts AS ets, value AS ev, product_id AS ep, room_id AS er
FROM ` + s.db + `.report_events
WHERE ` + where, args
}

// countOf is the SQL count of the distinct events of rows where cond holds.
func countOf(cond string) string { return "uniqExactIf(eh, " + cond + ")" }

// sumOf is the SQL sum of expr over the distinct events of rows where cond
// holds (a copy of an event has its value, so the pair is the same).
func sumOf(expr, cond string) string {
	return "arraySum(arrayMap(x -> tupleElement(x, 2), groupUniqArrayIf((eh, " + expr + "), " + cond + ")))"
}

// ShanghaiDay is the Asia/Shanghai day number of Unix ms (days since
// 1970-01-01 in Shanghai), as SQL computes it.
func ShanghaiDay(ms int64) int64 { return floorDiv(ms+shanghaiOffMS, dayMS) }

// DayStart is the Unix ms at which Shanghai day number d starts.
func DayStart(d int64) int64 { return d*dayMS - shanghaiOffMS }

// DayLabel is Shanghai day number d as YYYY-MM-DD.
func DayLabel(d int64) string { return time.UnixMilli(DayStart(d)).In(Shanghai).Format(time.DateOnly) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// OrdersSource is where orders and GMV come from: the order events that
// checkout writes on the server (Track refuses them from every caller and
// ingest dead-letters any other producer's). Orders and GMV are paid orders
// (order_paid); an order cancelled before payment (order_cancelled) counts
// only in the funnel's 下单 step; refunds are reported beside GMV, not
// subtracted from it.
func OrdersSource() *tidev1.OrdersSource {
	return &tidev1.OrdersSource{Provisional: false,
		Note: "订单与成交金额取自服务端结算的订单事件：成交为已支付订单，未支付即取消的订单只计入下单人数，退款单列、不从成交金额中扣除"}
}

// flagsReady returns ErrNoFlagsTable unless fraud_flags exists.
func (s *Store) flagsReady(ctx context.Context) error {
	if s.flags.Load() {
		return nil
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = ?",
		s.db, fraudch.Table).Scan(&n); err != nil {
		return fmt.Errorf("chreport: fraud_flags: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("chreport: %s.%s: %w", s.db, fraudch.Table, ErrNoFlagsTable)
	}
	s.flags.Store(true)
	return nil
}

// Exclusion is how much of scope's traffic the reports leave out as
// flagged: events (duplicates collapsed) and distinct viewers, of all and
// of flagged accounts or devices.
func (s *Store) Exclusion(ctx context.Context, sc Scope) (*tidev1.FraudExclusion, error) {
	if err := s.flagsReady(ctx); err != nil {
		return nil, err
	}
	where, args := sc.where()
	q := `SELECT uniqExact(eh), uniqExactIf(eh, NOT ` + s.exclude + `),
    uniqExact(uh), uniqExactIf(uh, NOT ` + s.exclude + `)
FROM ` + s.db + `.report_events WHERE ` + where
	var total, excl, viewers, exclViewers uint64
	if err := s.conn.QueryRow(ctx, q, args...).Scan(&total, &excl, &viewers, &exclViewers); err != nil {
		return nil, fmt.Errorf("chreport: fraud exclusion: %w", err)
	}
	return &tidev1.FraudExclusion{TotalEvents: int64(total), ExcludedEvents: int64(excl),
		TotalViewers: int64(viewers), ExcludedViewers: int64(exclViewers),
		ExcludedEventShare: ratio(float64(excl), total)}, nil
}
