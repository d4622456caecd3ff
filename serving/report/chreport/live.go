package chreport

import (
	"context"
	"fmt"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// liveGap is how long a session may go without events and still count as live.
const liveGap = 2 * time.Minute

// sessionRow is one session as ListRoomSessions and LiveNow see it.
type sessionRow struct {
	room, session           string
	first, last, start, end int64
	uv                      uint64
}

func (r sessionRow) live(now time.Time) bool {
	ended := r.end > 0 && r.end >= r.start
	return !ended && now.UnixMilli()-r.last < liveGap.Milliseconds()
}

// sessions lists the merchant's sessions (of one room when roomID is set),
// newest last event first. It reads only duplicate-proof aggregates (min,
// max, uniqExact), so it needs no dedup subquery; its viewers leave out
// flagged accounts and devices.
func (s *Store) sessions(ctx context.Context, merchantID, roomID string) ([]sessionRow, error) {
	if err := s.flagsReady(ctx); err != nil {
		return nil, err
	}
	q := `SELECT room_id, live_session_id, min(ts), max(ts),
    maxIf(ts, type = 'stream_start'), maxIf(ts, type = 'stream_end'),
    uniqExactIf(if(user_id != '', user_id, concat('d:', device_id)), type = 'room_enter' AND ` + s.exclude + `)
FROM ` + s.db + `.report_events
WHERE merchant_id = ? AND room_id != '' AND live_session_id != ''`
	args := []any{merchantID}
	if roomID != "" {
		q += " AND room_id = ?"
		args = append(args, roomID)
	}
	q += " GROUP BY room_id, live_session_id ORDER BY max(ts) DESC"
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("chreport: sessions: %w", err)
	}
	defer rows.Close()
	var out []sessionRow
	for rows.Next() {
		var r sessionRow
		if err := rows.Scan(&r.room, &r.session, &r.first, &r.last, &r.start, &r.end, &r.uv); err != nil {
			return nil, fmt.Errorf("chreport: sessions: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Rooms lists the merchant's rooms with their latest session, the most
// recently active first.
func (s *Store) Rooms(ctx context.Context, merchantID string) ([]*tidev1.RoomSummary, error) {
	rows, err := s.sessions(ctx, merchantID, "")
	if err != nil {
		return nil, err
	}
	now := s.now()
	seen := map[string]bool{}
	var out []*tidev1.RoomSummary
	for _, r := range rows {
		if seen[r.room] {
			continue
		}
		seen[r.room] = true
		out = append(out, &tidev1.RoomSummary{RoomId: r.room, LiveSessionId: r.session, StartedAt: r.first,
			LastEventAt: r.last, Live: r.live(now), UniqueViewers: int64(r.uv)})
	}
	return out, nil
}

// LiveNow is the dashboard of the room's latest session, with each figure
// over the last window minutes (ending at the minute after the latest
// event) against the window before; ErrNotFound when the merchant has no
// session in that room.
func (s *Store) LiveNow(ctx context.Context, merchantID, roomID string, window int) (*tidev1.LiveNowResponse, error) {
	ss, err := s.sessions(ctx, merchantID, roomID)
	if err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		return nil, fmt.Errorf("chreport: room %q: %w", roomID, ErrNotFound)
	}
	cur := ss[0]
	sc := Scope{MerchantID: merchantID, RoomID: roomID, SessionID: cur.session, From: cur.first, To: cur.last + 1}
	var (
		m               *tidev1.ReportMetrics
		mins            []*tidev1.MinutePoint
		excl            *tidev1.FraudExclusion
		byClicks, byGMV []*tidev1.ProductFigure
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		m, mins, err = s.metricsAndMinutes(gctx, sc)
		return err
	})
	g.Go(func() (err error) {
		excl, err = s.Exclusion(gctx, sc)
		return err
	})
	g.Go(func() (err error) {
		byClicks, byGMV, err = s.topProducts(gctx, sc, 10)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	now := s.now()
	resp := &tidev1.LiveNowResponse{RoomId: roomID, LiveSessionId: cur.session, Live: cur.live(now),
		StartedAt: cur.first, LastEventAt: cur.last, GmvFen: m.GmvFen, Orders: m.Orders,
		NewFollowers: m.NewFollowers, Chats: m.Chats, Likes: m.Likes, Enters: m.PageViews,
		Minutes: mins, WindowMinutes: int32(window), Window: windowFigures(mins, window),
		TopByClicks: byClicks, TopByGmv: byGMV, OrdersSource: OrdersSource(), AsOf: now.UnixMilli(), FraudExclusion: excl}
	if len(mins) > 0 {
		resp.OnlineNow = mins[len(mins)-1].Online
	}
	return resp, nil
}

// windowFigures compares the last n minutes of mins with the n before.
func windowFigures(mins []*tidev1.MinutePoint, n int) []*tidev1.WindowFigure {
	figs := []struct {
		name, label string
		get         func(*tidev1.MinutePoint) int64
	}{
		{"enters", "进房人次", func(p *tidev1.MinutePoint) int64 { return p.Enters }},
		{"chats", "评论数", func(p *tidev1.MinutePoint) int64 { return p.Chats }},
		{"likes", "点赞数", func(p *tidev1.MinutePoint) int64 { return p.Likes }},
		{"follows", "新增关注", func(p *tidev1.MinutePoint) int64 { return p.Follows }},
		{"orders", "成交订单", func(p *tidev1.MinutePoint) int64 { return p.Orders }},
		{"gmv_fen", "成交金额(分)", func(p *tidev1.MinutePoint) int64 { return p.GmvFen }},
	}
	end := len(mins)
	sum := func(get func(*tidev1.MinutePoint) int64, from, to int) float64 {
		var t int64
		for i := max(from, 0); i < to; i++ {
			t += get(mins[i])
		}
		return float64(t)
	}
	out := make([]*tidev1.WindowFigure, 0, len(figs)+1)
	for _, f := range figs {
		out = append(out, figure(f.name, f.label, sum(f.get, end-n, end), sum(f.get, end-2*n, end-n)))
	}
	online := func(i int) float64 {
		if i < 0 || i >= end {
			return 0
		}
		return float64(mins[i].Online)
	}
	return append(out, figure("online", "在线人数", online(end-1), online(end-1-n)))
}

func figure(name, label string, last, prev float64) *tidev1.WindowFigure {
	f := &tidev1.WindowFigure{Name: name, Label: label, Last: last, Previous: prev}
	if prev != 0 {
		f.Change = (last - prev) / prev
	}
	return f
}

// topProducts is the top k products of scope by clicks and by GMV.
func (s *Store) topProducts(ctx context.Context, sc Scope, k int) (byClicks, byGMV []*tidev1.ProductFigure, err error) {
	sub, args := s.rows(sc)
	rows, err := s.conn.Query(ctx, `SELECT ep, `+countOf("et = 'product_click'")+` AS clicks,
    `+countOf("et = 'order_paid'")+` AS orders, `+sumOf("ev", "et = 'order_paid'")+` AS gmv
FROM (`+sub+`) WHERE ep != '' GROUP BY ep HAVING clicks > 0 OR orders > 0`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("chreport: top products: %w", err)
	}
	defer rows.Close()
	var all []*tidev1.ProductFigure
	for rows.Next() {
		var (
			p              tidev1.ProductFigure
			clicks, orders uint64
		)
		if err := rows.Scan(&p.ProductId, &clicks, &orders, &p.GmvFen); err != nil {
			return nil, nil, fmt.Errorf("chreport: top products: %w", err)
		}
		p.Clicks, p.Orders = int64(clicks), int64(orders)
		all = append(all, &p)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("chreport: top products: %w", err)
	}
	top := func(less func(a, b *tidev1.ProductFigure) bool, keep func(*tidev1.ProductFigure) bool) []*tidev1.ProductFigure {
		var c []*tidev1.ProductFigure
		for _, p := range all {
			if keep(p) {
				c = append(c, p)
			}
		}
		sort.Slice(c, func(i, j int) bool {
			if less(c[i], c[j]) != less(c[j], c[i]) {
				return less(c[i], c[j])
			}
			return c[i].ProductId < c[j].ProductId
		})
		return c[:min(k, len(c))]
	}
	byClicks = top(func(a, b *tidev1.ProductFigure) bool { return a.Clicks > b.Clicks },
		func(p *tidev1.ProductFigure) bool { return p.Clicks > 0 })
	byGMV = top(func(a, b *tidev1.ProductFigure) bool { return a.GmvFen > b.GmvFen },
		func(p *tidev1.ProductFigure) bool { return p.GmvFen > 0 })
	return byClicks, byGMV, nil
}
