// Package chreport reads the merchant reports from ClickHouse's events
// table: session and daily figures, funnels, per-product rows, the live
// minute series and A/B sums. Every query is scoped by a merchant id the
// caller took from credentials.
//
// Exactly-once: events is a ReplacingMergeTree whose duplicates collapse only
// when parts merge, so every count and sum here reads the events through
// one subquery (Store.deduped) that keeps one row per event_id with
// GROUP BY event_id and any() — never FINAL. Distinct-user counts
// (uniqExact) are duplicate-proof on their own. When the exact tables of
// ingest/chschema land, deduped is the one place to change.
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
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// ErrNotFound is returned when the merchant has no events for what was asked.
var ErrNotFound = errors.New("not found")

// Shanghai is Asia/Shanghai: UTC+8, no daylight saving since 1991.
var Shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

const (
	dayMS         = int64(24 * time.Hour / time.Millisecond)
	shanghaiOffMS = int64(8 * time.Hour / time.Millisecond)
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Store runs the report queries on one ClickHouse database.
type Store struct {
	conn driver.Conn
	db   string
	now  func() time.Time
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
	s := &Store{conn: conn, db: db, now: time.Now}
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

// deduped is the one reading of events: one row per event_id of scope, with
// columns et (type), ets (ts), eu (user, or "d:"+device when anonymous), ev
// (value), ep (product), er (room), es (session).
func (s *Store) deduped(sc Scope) (string, []any) {
	where, args := sc.where()
	return `SELECT event_id,
    any(type) AS et, any(ts) AS ets,
    any(if(user_id != '', user_id, concat('d:', device_id))) AS eu,
    any(value) AS ev, any(product_id) AS ep, any(room_id) AS er, any(live_session_id) AS es
FROM ` + s.db + `.events
WHERE ` + where + `
GROUP BY event_id`, args
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

// OrdersSource is where orders and GMV come from today: the order events
// in the events table, until checkout's server-side order events land.
func OrdersSource() *tidev1.OrdersSource {
	return &tidev1.OrdersSource{Provisional: true,
		Note: "订单与成交金额暂取自事件表中已有的订单事件（服务端结算订单事件上线前为临时口径）"}
}
