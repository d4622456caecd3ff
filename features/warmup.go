package features

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// WarmUpOption configures WarmUp.
type WarmUpOption func(*warmConfig)

type warmConfig struct {
	database, table string
	settle          time.Duration
	statusLookback  time.Duration
	now             func() time.Time
	log             *slog.Logger
}

// WarmUpTable sets the ClickHouse database and table (default tide.events).
func WarmUpTable(database, table string) WarmUpOption {
	return func(c *warmConfig) { c.database, c.table = database, table }
}

// WarmUpSettle sets how far behind the wall clock the ClickHouse load stops:
// ingest flushes its batches within this time, so every event received
// before the boundary is in ClickHouse; later ones come from Kafka. Default
// 30 s.
func WarmUpSettle(d time.Duration) WarmUpOption { return func(c *warmConfig) { c.settle = d } }

// WarmUpStatusLookback sets how far back WarmUp looks for the latest
// STREAM_START/STREAM_END of each room, so streams that started before the
// loaded hour are known to be live. Default 24 h.
func WarmUpStatusLookback(d time.Duration) WarmUpOption {
	return func(c *warmConfig) { c.statusLookback = d }
}

// WarmUpClock sets the wall clock (tests).
func WarmUpClock(now func() time.Time) WarmUpOption { return func(c *warmConfig) { c.now = now } }

// WarmUpLogger sets the logger for progress (default slog.Default()).
func WarmUpLogger(l *slog.Logger) WarmUpOption { return func(c *warmConfig) { c.log = l } }

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// WarmUp seeds s from ClickHouse's events table with the events received
// from since up to a boundary (now minus the settle time), each event_id
// once, in received_at order, after the latest stream status of every room.
// It returns the boundary: pass it to Follow with From, which starts each
// partition at that time and skips events received before it, so no event
// is counted twice or missed.
func WarmUp(ctx context.Context, s *Store, conn driver.Conn, since time.Time, opts ...WarmUpOption) (time.Time, error) {
	c := warmConfig{database: "tide", table: "events", settle: 30 * time.Second,
		statusLookback: 24 * time.Hour, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(&c)
	}
	if !identRE.MatchString(c.database) || !identRE.MatchString(c.table) {
		return time.Time{}, fmt.Errorf("features: warm-up table %s.%s is not a plain identifier", c.database, c.table)
	}
	cut := c.now().Add(-c.settle).Truncate(time.Millisecond)
	if !since.Before(cut) {
		return cut, nil
	}
	tbl := c.database + "." + c.table
	// Partitions and the primary key lead with date (of the client's ts,
	// which validation keeps within MaxPast of received_at): prune by it.
	pruneFrom := since.Add(-ingest.DefaultLimits().MaxPast - 24*time.Hour)
	began := time.Now()

	statusFrom := cut.Add(-c.statusLookback)
	n, err := s.loadStatus(ctx, conn, tbl, statusFrom, cut)
	if err != nil {
		return time.Time{}, err
	}
	q := `SELECT type, ts, received_at, user_id, device_id, merchant_id, room_id, live_session_id,
	  product_id, value, attrs.value[indexOf(attrs.key, 'category')] AS category
	FROM ` + tbl + `
	WHERE date >= toDate(?) AND received_at >= ? AND received_at < ?
	ORDER BY received_at
	LIMIT 1 BY event_id`
	rows, err := conn.Query(ctx, q, pruneFrom.UTC(), since.UnixMilli(), cut.UnixMilli())
	if err != nil {
		return time.Time{}, fmt.Errorf("features: warm-up query %s: %w", tbl, err)
	}
	defer rows.Close()
	types := typeNames()
	var (
		e        tidev1.Event
		typ, cat string
		attrs    = map[string]string{}
		loaded   int64
		last     = time.Now()
	)
	for rows.Next() {
		e.Reset()
		if err := rows.Scan(&typ, &e.Ts, &e.ReceivedAt, &e.UserId, &e.DeviceId, &e.MerchantId, &e.RoomId,
			&e.LiveSessionId, &e.ProductId, &e.Value, &cat); err != nil {
			return time.Time{}, fmt.Errorf("features: warm-up scan: %w", err)
		}
		e.Type = types[typ]
		if cat != "" {
			attrs["category"] = cat
			e.Attrs = attrs
		}
		s.Apply(&e)
		loaded++
		if loaded%500_000 == 0 && time.Since(last) > 2*time.Second {
			last = time.Now()
			c.log.Info("features: warm-up", "events", loaded, "at", time.UnixMilli(e.ReceivedAt).UTC())
		}
	}
	if err := rows.Err(); err != nil {
		return time.Time{}, fmt.Errorf("features: warm-up read: %w", err)
	}
	c.log.Info("features: warm-up done", "events", loaded, "stream_status", n, "since", since.UTC(),
		"boundary", cut.UTC(), "took", time.Since(began).Round(time.Millisecond))
	return cut, nil
}

// loadStatus applies the latest STREAM_START/STREAM_END of every room
// received in [from, to), with the room's latest known live session (an end
// event may not repeat it; applying the events one by one keeps it).
func (s *Store) loadStatus(ctx context.Context, conn driver.Conn, tbl string, from, to time.Time) (int, error) {
	q := `SELECT room_id, argMax(toString(type), received_at), argMaxIf(live_session_id, received_at, live_session_id != ''),
	  argMax(merchant_id, received_at), max(received_at)
	FROM ` + tbl + `
	WHERE date >= toDate(?) AND type IN ('stream_start', 'stream_end') AND received_at >= ? AND received_at < ?
	GROUP BY room_id`
	rows, err := conn.Query(ctx, q, from.Add(-ingest.DefaultLimits().MaxPast-24*time.Hour).UTC(), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("features: warm-up stream status %s: %w", tbl, err)
	}
	defer rows.Close()
	n := 0
	types := typeNames()
	var e tidev1.Event
	var typ string
	for rows.Next() {
		e.Reset()
		if err := rows.Scan(&e.RoomId, &typ, &e.LiveSessionId, &e.MerchantId, &e.ReceivedAt); err != nil {
			return n, fmt.Errorf("features: warm-up stream status: %w", err)
		}
		e.Type, e.Ts = types[typ], e.ReceivedAt
		s.Apply(&e)
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("features: warm-up stream status: %w", err)
	}
	return n, nil
}

// typeNames maps ingest.TypeName's names ("room_enter") to event types.
func typeNames() map[string]tidev1.EventType {
	m := make(map[string]tidev1.EventType, len(tidev1.EventType_name))
	for v := range tidev1.EventType_name {
		m[ingest.TypeName(tidev1.EventType(v))] = tidev1.EventType(v)
	}
	return m
}
