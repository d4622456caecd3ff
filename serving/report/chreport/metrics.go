package chreport

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// funnelSteps are the session funnel's steps in order, with their labels.
var funnelSteps = []struct{ step, label string }{
	{"room_impression", "曝光"},
	{"room_enter", "进房"},
	{"product_impression", "商品曝光"},
	{"product_click", "商品点击"},
	{"add_to_cart", "加购"},
	{"order_created", "下单"},
	{"order_paid", "支付"},
}

// presenceTypes are the events that show a viewer is in the room: a viewer
// counts in 观看人数 and as online from the first of them (so viewers who were
// already watching when the events start still count) until their leave.
const presenceTypes = `'room_enter', 'room_leave', 'chat', 'like', 'gift', 'share', 'follow',
    'product_impression', 'product_click', 'add_to_cart'`

// metricsByType is the inner aggregate list of a ReportMetrics row, over
// the columns of rows grouped by type (t): the type's viewers as a
// uniqExact state (s), its distinct events when a figure counts them (n),
// first and last ts, a room and its rows (copies too). Each row goes into
// one set, of its type; metricsSelect merges them (a third faster than a
// uniqExactIf per figure over every row).
const metricsByType = `et AS t, uniqExactState(uh) AS s,
    uniqExactIf(eh, et IN ('room_enter', 'chat', 'order_paid', 'order_refunded')) AS n,
    min(ets) AS f, max(ets) AS l, any(er) AS r, count() AS c`

// metricsSelect is the aggregate list of one ReportMetrics row (scanned by
// metricsRow.dest), over the groups of metricsByType; n_rows counts copies
// too (it is only ever compared with zero). The sums (watch time, likes,
// GMV, refunds) come from the minutes (minuteRow), which add each event
// once.
const metricsSelect = `sumIf(n, t = 'room_enter') AS pv,
    uniqExactMergeIf(s, t IN (` + presenceTypes + `)) AS uv,
    uniqExactMergeIf(s, t IN ('chat', 'like', 'share', 'follow')) AS interacting,
    uniqExactMergeIf(s, t = 'follow') AS followers,
    sumIf(n, t = 'chat') AS chats,
    sumIf(n, t = 'order_paid') AS orders,
    uniqExactMergeIf(s, t = 'order_paid') AS buyers,
    sumIf(n, t = 'order_refunded') AS refunds,
    uniqExactMergeIf(s, t = 'room_impression') AS f0,
    uniqExactMergeIf(s, t = 'room_enter') AS f1,
    uniqExactMergeIf(s, t = 'product_impression') AS f2,
    uniqExactMergeIf(s, t = 'product_click') AS f3,
    uniqExactMergeIf(s, t = 'add_to_cart') AS f4,
    uniqExactMergeIf(s, t = 'order_created') AS f5,
    uniqExactMergeIf(s, t = 'order_paid') AS f6,
    min(f) AS first_ts, max(l) AS last_ts, any(r) AS a_room, sum(c) AS n_rows`

// metricsRow is what metricsSelect scans into.
type metricsRow struct {
	pv, uv                        uint64
	dwell                         int64
	interacting, followers, chats uint64
	likes, gmv                    int64
	orders, buyers, refunds       uint64
	refundFen                     int64
	funnel                        [7]uint64
	first, last                   int64
	room                          string
	events                        uint64
}

func (r *metricsRow) dest() []any {
	d := []any{&r.pv, &r.uv, &r.interacting, &r.followers, &r.chats, &r.orders, &r.buyers, &r.refunds}
	for i := range r.funnel {
		d = append(d, &r.funnel[i])
	}
	return append(d, &r.first, &r.last, &r.room, &r.events)
}

// addSums adds the sums of mins (of the row's scope) to the row.
func (r *metricsRow) addSums(mins []minuteRow) {
	for _, p := range mins {
		r.dwell += p.dwell
		r.likes += p.Likes
		r.gmv += p.GmvFen
		r.refundFen += p.refundFen
	}
}

// proto turns the row into ReportMetrics, with the concurrency figures
// (filled by concurrency) left zero.
func (r *metricsRow) proto() *tidev1.ReportMetrics {
	m := &tidev1.ReportMetrics{
		PageViews: int64(r.pv), UniqueViewers: int64(r.uv), NewFollowers: int64(r.followers),
		Chats: int64(r.chats), Likes: r.likes, GmvFen: r.gmv, Orders: int64(r.orders),
		Buyers: int64(r.buyers), Refunds: int64(r.refunds), RefundFen: r.refundFen,
	}
	m.AvgWatchSeconds = ratio(float64(r.dwell)/1000, r.uv)
	m.InteractionRate = ratio(float64(r.interacting), r.uv)
	m.AvgOrderValueFen = ratio(float64(r.gmv), r.buyers)
	m.GpmFen = ratio(float64(r.gmv)*1000, r.pv)
	m.UvValueFen = ratio(float64(r.gmv), r.uv)
	m.Funnel = funnel(r.funnel[:], 0)
	return m
}

// funnel builds the steps of funnelSteps[first:] from their user counts.
func funnel(users []uint64, first int) []*tidev1.FunnelStep {
	out := make([]*tidev1.FunnelStep, len(users))
	for i, u := range users {
		st := funnelSteps[first+i]
		out[i] = &tidev1.FunnelStep{Step: st.step, Label: st.label, Users: int64(u)}
		if i > 0 {
			out[i].RateFromPrevious = ratio(float64(u), users[i-1])
		}
	}
	return out
}

func ratio(num float64, den uint64) float64 {
	if den == 0 {
		return 0
	}
	return num / float64(den)
}

// Metrics is the ReportMetrics of scope, concurrency included.
func (s *Store) Metrics(ctx context.Context, sc Scope) (*tidev1.ReportMetrics, error) {
	m, _, err := s.metricsAndMinutes(ctx, sc)
	return m, err
}

// metricsAndMinutes is Metrics and the Minutes it was computed from.
func (s *Store) metricsAndMinutes(ctx context.Context, sc Scope) (*tidev1.ReportMetrics, []*tidev1.MinutePoint, error) {
	m, _, mins, err := s.metricsRow(ctx, sc)
	return m, mins, err
}

// metricsRow is Metrics, its raw row and Minutes, whose queries run
// side by side.
func (s *Store) metricsRow(ctx context.Context, sc Scope) (*tidev1.ReportMetrics, metricsRow, []*tidev1.MinutePoint, error) {
	var (
		r    metricsRow
		mins []minuteRow
	)
	if err := s.flagsReady(ctx); err != nil {
		return nil, r, nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		sub, args := s.rows(sc)
		if err := s.conn.QueryRow(gctx, "SELECT "+metricsSelect+" FROM (SELECT "+metricsByType+" FROM ("+sub+") GROUP BY t)", args...).Scan(r.dest()...); err != nil {
			return fmt.Errorf("chreport: metrics: %w", err)
		}
		return nil
	})
	g.Go(func() (err error) {
		mins, err = s.minutes(gctx, sc)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, r, nil, err
	}
	r.addSums(mins)
	m := r.proto()
	points := minutePoints(mins)
	m.PeakConcurrent, m.AvgConcurrent = concurrency(points)
	return m, r, points, nil
}

// Session is the report of one live session of the merchant; ErrNotFound
// when the merchant has no events of it.
// roomID may be empty; when given, only that room's rows are read (the
// table's key finds them) and a session of another room is not found.
func (s *Store) Session(ctx context.Context, merchantID, roomID, sessionID string) (*tidev1.SessionReportResponse, error) {
	sc := Scope{MerchantID: merchantID, RoomID: roomID, SessionID: sessionID}
	if err := s.flagsReady(ctx); err != nil {
		return nil, err
	}
	var (
		m    *tidev1.ReportMetrics
		r    metricsRow
		excl *tidev1.FraudExclusion
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		m, r, _, err = s.metricsRow(gctx, sc)
		return err
	})
	g.Go(func() (err error) {
		excl, err = s.Exclusion(gctx, sc)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if r.events == 0 {
		return nil, fmt.Errorf("chreport: session %q: %w", sessionID, ErrNotFound)
	}
	return &tidev1.SessionReportResponse{LiveSessionId: sessionID, RoomId: r.room, StartedAt: r.first,
		EndedAt: r.last, Metrics: m, OrdersSource: OrdersSource(), FraudExclusion: excl}, nil
}

// Daily is the merchant's figures (optionally one room's) for each
// Shanghai day from fromDay to toDay (day numbers, both included), empty
// days included.
func (s *Store) Daily(ctx context.Context, merchantID, roomID string, fromDay, toDay int64) ([]*tidev1.DayRow, error) {
	sc := Scope{MerchantID: merchantID, RoomID: roomID, From: DayStart(fromDay), To: DayStart(toDay + 1)}
	if err := s.flagsReady(ctx); err != nil {
		return nil, err
	}
	var (
		byDay map[int64]*metricsRow
		mins  []minuteRow
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		byDay, err = s.dailyRows(gctx, sc)
		return err
	})
	g.Go(func() (err error) {
		mins, err = s.minutes(gctx, sc)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	perDay := map[int64][]minuteRow{}
	for _, p := range mins {
		d := ShanghaiDay(p.Minute)
		perDay[d] = append(perDay[d], p)
	}
	var out []*tidev1.DayRow
	for d := fromDay; d <= toDay; d++ {
		r := byDay[d]
		if r == nil {
			r = &metricsRow{}
		}
		r.addSums(perDay[d])
		m := r.proto()
		m.PeakConcurrent, m.AvgConcurrent = concurrency(minutePoints(perDay[d]))
		out = append(out, &tidev1.DayRow{Date: DayLabel(d), Metrics: m})
	}
	return out, nil
}

// dailyRows is the metrics row of each Shanghai day of sc that has events.
func (s *Store) dailyRows(ctx context.Context, sc Scope) (map[int64]*metricsRow, error) {
	sub, args := s.rows(sc)
	rows, err := s.conn.Query(ctx, "SELECT day, "+metricsSelect+" FROM (SELECT intDiv(ets + ?, ?) AS day, "+metricsByType+" FROM ("+sub+") GROUP BY day, t) GROUP BY day",
		append([]any{shanghaiOffMS, dayMS}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("chreport: daily: %w", err)
	}
	defer rows.Close()
	byDay := map[int64]*metricsRow{}
	for rows.Next() {
		var (
			day int64
			r   metricsRow
		)
		if err := rows.Scan(append([]any{&day}, r.dest()...)...); err != nil {
			return nil, fmt.Errorf("chreport: daily: %w", err)
		}
		byDay[day] = &r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chreport: daily: %w", err)
	}
	return byDay, nil
}
