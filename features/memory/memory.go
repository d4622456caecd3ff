// Package memory is the long-term memory of viewers: their durable follows
// and their long-run preferences (anchors and categories they engaged
// with, and their price band over a year of clicks, carts and paid
// orders), read from ClickHouse's events table, beside the online features
// store's fresh window. The online store forgets an idle viewer after its
// user TTL (6 h) and knows only the follows of its replay window; a
// viewer who comes back tomorrow would be a cold start and their followed
// anchors forgotten. Recall merges what memory holds into the viewer's
// online features, so the feed's candidates (followed anchors live now)
// and its learned scorer (anchor strength, count, recency, follows,
// category share) see the viewer's history.
//
// Memory is bounded: at most Options.MaxAnchors anchors and
// MaxCategories categories and one price band per viewer, MaxRows rows read per query (the
// busiest pairs first are not guaranteed beyond that: a warning says so),
// about 100 bytes per remembered pair.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Options configure Load.
type Options struct {
	// Database and Table name the events table (default tide.events).
	Database, Table string
	// FollowLookback is how far back follow/unfollow events are read
	// (default 365 days): the latest of each viewer and anchor decides.
	FollowLookback time.Duration
	// PrefLookback is how far back engagement builds preferences (default
	// 30 days).
	PrefLookback time.Duration
	// PriceLookback is how far back clicks, carts and paid orders build
	// the price band (default 365 days).
	PriceLookback time.Duration
	// Prices gives a product's current unit price in fen (e.g. the
	// catalogue's); without it, or for products it does not know, the band
	// uses paid order values and ignores unpaid clicks.
	Prices func(productID string) (int64, bool)
	// MaxAnchors and MaxCategories bound each viewer's lists (default 20
	// and 10).
	MaxAnchors, MaxCategories int
	// MaxRows bounds the rows read per query (default 5 000 000).
	MaxRows int
	// Weights weigh events into strength (default
	// features.DefaultUserWeights(), the online store's).
	Weights *features.UserWeights
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.Database == "" {
		o.Database = "tide"
	}
	if o.Table == "" {
		o.Table = "events"
	}
	if o.FollowLookback <= 0 {
		o.FollowLookback = 365 * 24 * time.Hour
	}
	if o.PrefLookback <= 0 {
		o.PrefLookback = 30 * 24 * time.Hour
	}
	if o.PriceLookback <= 0 {
		o.PriceLookback = 365 * 24 * time.Hour
	}
	if o.MaxAnchors <= 0 {
		o.MaxAnchors = 20
	}
	if o.MaxCategories <= 0 {
		o.MaxCategories = 10
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 5_000_000
	}
	if o.Weights == nil {
		w := features.DefaultUserWeights()
		o.Weights = &w
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// viewer is what memory holds of one viewer; lists most recent first.
type viewer struct {
	follows, anchors, categories []features.Engagement
	price                        features.PriceBand
}

// Memory holds the viewers' long-term memory and swaps a reloaded one in
// atomically. It is safe for concurrent use.
type Memory struct {
	p atomic.Pointer[map[string]*viewer]
}

// Viewers is the number of viewers remembered.
func (m *Memory) Viewers() int {
	if p := m.p.Load(); p != nil {
		return len(*p)
	}
	return 0
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Load reads the memory from ClickHouse.
func Load(ctx context.Context, conn driver.Conn, o Options) (*Memory, error) {
	m := &Memory{}
	if err := m.Reload(ctx, conn, o); err != nil {
		return nil, err
	}
	return m, nil
}

// Reload reads the memory again and swaps it in; on error the old one
// stays.
func (m *Memory) Reload(ctx context.Context, conn driver.Conn, o Options) error {
	o.defaults()
	if !identRE.MatchString(o.Database) || !identRE.MatchString(o.Table) {
		return fmt.Errorf("memory: table %s.%s is not a plain identifier", o.Database, o.Table)
	}
	now := o.Now()
	vs := map[string]*viewer{}
	get := func(u string) *viewer {
		v := vs[u]
		if v == nil {
			v = &viewer{}
			vs[u] = v
		}
		return v
	}
	if err := o.follows(ctx, conn, now, get); err != nil {
		return err
	}
	if err := o.anchors(ctx, conn, now, get); err != nil {
		return err
	}
	if err := o.categories(ctx, conn, now, get); err != nil {
		return err
	}
	if err := o.prices(ctx, conn, now, get); err != nil {
		return err
	}
	for _, v := range vs {
		v.anchors = top(v.anchors, o.MaxAnchors)
		v.categories = top(v.categories, o.MaxCategories)
		byRecency(v.follows)
	}
	m.p.Store(&vs)
	o.Log.Info("memory: loaded", "viewers", len(vs), "seconds", time.Since(now).Seconds())
	return nil
}

// top keeps the n strongest engagements, most recent first.
func top(es []features.Engagement, n int) []features.Engagement {
	if len(es) > n {
		slices.SortFunc(es, func(a, b features.Engagement) int { return cmp.Compare(b.Strength, a.Strength) })
		es = slices.Clip(es[:n])
	}
	byRecency(es)
	return es
}

func byRecency(es []features.Engagement) {
	slices.SortStableFunc(es, func(a, b features.Engagement) int { return b.Last.Compare(a.Last) })
}

func (o *Options) table() string { return o.Database + "." + o.Table }

// prune is the date bound of a lookback: the table's partitions lead with
// the client's date, kept within MaxPast of received_at.
func prune(from time.Time) time.Time {
	return from.Add(-ingest.DefaultLimits().MaxPast - 24*time.Hour).UTC()
}

func name(t tidev1.EventType) string { return ingest.TypeName(t) }

// follows reads the latest follow/unfollow of each viewer and anchor.
func (o *Options) follows(ctx context.Context, conn driver.Conn, now time.Time, get func(string) *viewer) error {
	from := now.Add(-o.FollowLookback)
	q := `SELECT user_id, merchant_id, max(received_at) AS last
	FROM ` + o.table() + `
	WHERE date >= toDate(?) AND received_at >= ? AND type IN (?, ?) AND user_id != '' AND merchant_id != ''
	GROUP BY user_id, merchant_id
	HAVING argMax(toString(type), received_at) = ?
	LIMIT ?`
	rows, err := conn.Query(ctx, q, prune(from), from.UnixMilli(), name(tidev1.EventType_EVENT_TYPE_FOLLOW),
		name(tidev1.EventType_EVENT_TYPE_UNFOLLOW), name(tidev1.EventType_EVENT_TYPE_FOLLOW), o.MaxRows)
	if err != nil {
		return fmt.Errorf("memory: follows from %s: %w", o.table(), err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var u, a string
		var last int64
		if err := rows.Scan(&u, &a, &last); err != nil {
			return fmt.Errorf("memory: follows: %w", err)
		}
		v := get(u)
		v.follows = append(v.follows, features.Engagement{ID: a, Last: time.UnixMilli(last).UTC(), Strength: 1, Count: 1})
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("memory: follows: %w", err)
	}
	o.warnCap("follows", n)
	return nil
}

// anchors reads each viewer's engagement with each anchor.
func (o *Options) anchors(ctx context.Context, conn driver.Conn, now time.Time, get func(string) *viewer) error {
	w := o.Weights
	from := now.Add(-o.PrefLookback)
	q := `SELECT user_id, merchant_id, max(received_at),
	  countIf(type = ?), countIf(type = ?), countIf(type = ?), countIf(type = ?), countIf(type = ?), countIf(type = ?),
	  countIf(type = ?), countIf(type = ?), countIf(type = ?)
	FROM ` + o.table() + `
	WHERE date >= toDate(?) AND received_at >= ? AND user_id != '' AND merchant_id != ''
	  AND type IN (?, ?, ?, ?, ?, ?, ?, ?, ?)
	GROUP BY user_id, merchant_id
	LIMIT ?`
	types := []tidev1.EventType{tidev1.EventType_EVENT_TYPE_ROOM_ENTER, tidev1.EventType_EVENT_TYPE_CHAT,
		tidev1.EventType_EVENT_TYPE_LIKE, tidev1.EventType_EVENT_TYPE_GIFT, tidev1.EventType_EVENT_TYPE_SHARE,
		tidev1.EventType_EVENT_TYPE_FOLLOW, tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK,
		tidev1.EventType_EVENT_TYPE_ADD_TO_CART, tidev1.EventType_EVENT_TYPE_ORDER_PAID}
	weights := []float32{w.Enter, w.Chat, w.Like, w.Gift, w.Share, w.Follow, w.Click, w.Cart, w.Order}
	args := make([]any, 0, 2*len(types)+3)
	for _, t := range types {
		args = append(args, name(t))
	}
	args = append(args, prune(from), from.UnixMilli())
	for _, t := range types {
		args = append(args, name(t))
	}
	args = append(args, o.MaxRows)
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("memory: anchors from %s: %w", o.table(), err)
	}
	defer rows.Close()
	n := 0
	counts := make([]uint64, len(types))
	dest := make([]any, 0, len(types)+3)
	for rows.Next() {
		var u, a string
		var last int64
		dest = append(dest[:0], &u, &a, &last)
		for i := range counts {
			dest = append(dest, &counts[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("memory: anchors: %w", err)
		}
		e := features.Engagement{ID: a, Last: time.UnixMilli(last).UTC()}
		for i, c := range counts {
			e.Strength += float64(weights[i]) * float64(c)
			e.Count += int(c)
		}
		v := get(u)
		v.anchors = append(v.anchors, e)
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("memory: anchors: %w", err)
	}
	o.warnCap("anchors", n)
	return nil
}

// categories reads each viewer's product engagement by category.
func (o *Options) categories(ctx context.Context, conn driver.Conn, now time.Time, get func(string) *viewer) error {
	w := o.Weights
	from := now.Add(-o.PrefLookback)
	q := `SELECT user_id, attrs.value[indexOf(attrs.key, 'category')] AS category, max(received_at),
	  countIf(type = ?), countIf(type = ?), countIf(type = ?)
	FROM ` + o.table() + `
	WHERE date >= toDate(?) AND received_at >= ? AND user_id != '' AND type IN (?, ?, ?)
	GROUP BY user_id, category
	HAVING category != ''
	LIMIT ?`
	click, cart, paid := name(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK), name(tidev1.EventType_EVENT_TYPE_ADD_TO_CART),
		name(tidev1.EventType_EVENT_TYPE_ORDER_PAID)
	rows, err := conn.Query(ctx, q, click, cart, paid, prune(from), from.UnixMilli(), click, cart, paid, o.MaxRows)
	if err != nil {
		return fmt.Errorf("memory: categories from %s: %w", o.table(), err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var u, c string
		var last int64
		var nc, nk, np uint64
		if err := rows.Scan(&u, &c, &last, &nc, &nk, &np); err != nil {
			return fmt.Errorf("memory: categories: %w", err)
		}
		v := get(u)
		v.categories = append(v.categories, features.Engagement{ID: c, Last: time.UnixMilli(last).UTC(),
			Strength: float64(w.Click)*float64(nc) + float64(w.Cart)*float64(nk) + float64(w.Order)*float64(np),
			Count:    int(nc + nk + np)})
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("memory: categories: %w", err)
	}
	o.warnCap("categories", n)
	return nil
}

func (o *Options) warnCap(what string, n int) {
	if n >= o.MaxRows {
		o.Log.Warn("memory: row cap reached; some viewers' memory is missing", "query", what, "max_rows", o.MaxRows)
	}
}
