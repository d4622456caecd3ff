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

// metricsSelect is the aggregate list of one ReportMetrics row (scanned by
// scanMetrics), over the columns of rows; n_rows counts copies too (it is
// only ever compared with zero).
var metricsSelect = countOf("et = 'room_enter'") + ` AS pv,
    uniqExactIf(eu, et IN (` + presenceTypes + `)) AS uv,
    ` + sumOf("ev", "et = 'room_leave'") + ` AS dwell_ms,
    uniqExactIf(eu, et IN ('chat', 'like', 'share', 'follow')) AS interacting,
    uniqExactIf(eu, et = 'follow') AS followers,
    ` + countOf("et = 'chat'") + ` AS chats,
    ` + sumOf("greatest(ev, 1)", "et = 'like'") + ` AS likes,
    ` + sumOf("ev", "et = 'order_paid'") + ` AS gmv,
    ` + countOf("et = 'order_paid'") + ` AS orders,
    uniqExactIf(eu, et = 'order_paid') AS buyers,
    ` + countOf("et = 'order_refunded'") + ` AS refunds,
    ` + sumOf("ev", "et = 'order_refunded'") + ` AS refund_fen,
    uniqExactIf(eu, et = 'room_impression') AS f0,
    uniqExactIf(eu, et = 'room_enter') AS f1,
    uniqExactIf(eu, et = 'product_impression') AS f2,
    uniqExactIf(eu, et = 'product_click') AS f3,
    uniqExactIf(eu, et = 'add_to_cart') AS f4,
    uniqExactIf(eu, et = 'order_created') AS f5,
    uniqExactIf(eu, et = 'order_paid') AS f6,
    min(ets) AS first_ts, max(ets) AS last_ts, any(er) AS a_room, count() AS n_rows`

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
	d := []any{&r.pv, &r.uv, &r.dwell, &r.interacting, &r.followers, &r.chats, &r.likes, &r.gmv,
		&r.orders, &r.buyers, &r.refunds, &r.refundFen}
	for i := range r.funnel {
		d = append(d, &r.funnel[i])
	}
	return append(d, &r.first, &r.last, &r.room, &r.events)
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
		mins []*tidev1.MinutePoint
	)
	if err := s.flagsReady(ctx); err != nil {
		return nil, r, nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		sub, args := s.rows(sc)
		if err := s.conn.QueryRow(gctx, "SELECT "+metricsSelect+" FROM ("+sub+")", args...).Scan(r.dest()...); err != nil {
			return fmt.Errorf("chreport: metrics: %w", err)
		}
		return nil
	})
	g.Go(func() (err error) {
		mins, err = s.Minutes(gctx, sc)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, r, nil, err
	}
	m := r.proto()
	m.PeakConcurrent, m.AvgConcurrent = concurrency(mins)
	return m, r, mins, nil
}

// Minutes is scope minute by minute, every minute from the first event's to
// the last's (empty minutes included). Online is the viewers in the room at
// the end of the minute: a viewer is in from the minute of their first
// presence event until the minute of their leave, when the leave is their
// last presence event, else to the end.
func (s *Store) Minutes(ctx context.Context, sc Scope) ([]*tidev1.MinutePoint, error) {
	if err := s.flagsReady(ctx); err != nil {
		return nil, err
	}
	sub, args := s.rows(sc)
	var delta map[int64]int64
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		delta, err = s.presence(gctx, sub, args)
		return err
	})
	out, err := s.minuteCounts(gctx, sub, args)
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil || len(out) == 0 {
		return nil, err
	}
	first := out[0].Minute / 60000
	var online int64
	for m, d := range delta { // viewers who came before the first minute
		if m < first {
			online += d
		}
	}
	for _, p := range out {
		online += delta[p.Minute/60000]
		p.Online = max(0, online)
	}
	return out, nil
}

// minuteCounts is the per-minute counts of Minutes, quiet minutes filled in.
func (s *Store) minuteCounts(ctx context.Context, sub string, args []any) ([]*tidev1.MinutePoint, error) {
	rows, err := s.conn.Query(ctx, `SELECT intDiv(ets, 60000) AS m,
    `+countOf("et = 'room_enter'")+`, `+countOf("et = 'chat'")+`,
    `+sumOf("greatest(ev, 1)", "et = 'like'")+`, `+countOf("et = 'follow'")+`,
    `+countOf("et = 'order_paid'")+`, `+sumOf("ev", "et = 'order_paid'")+`
FROM (`+sub+`) GROUP BY m ORDER BY m`, args...)
	if err != nil {
		return nil, fmt.Errorf("chreport: minutes: %w", err)
	}
	defer rows.Close()
	var out []*tidev1.MinutePoint
	for rows.Next() {
		var (
			m                           int64
			enters, chats, follows, ord uint64
			likes, gmv                  int64
		)
		if err := rows.Scan(&m, &enters, &chats, &likes, &follows, &ord, &gmv); err != nil {
			return nil, fmt.Errorf("chreport: minutes: %w", err)
		}
		for len(out) > 0 && out[len(out)-1].Minute/60000+1 < m { // quiet minutes
			out = append(out, &tidev1.MinutePoint{Minute: out[len(out)-1].Minute + 60000})
		}
		out = append(out, &tidev1.MinutePoint{Minute: m * 60000, Enters: int64(enters),
			Chats: int64(chats), Likes: likes, Follows: int64(follows), Orders: int64(ord), GmvFen: gmv})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chreport: minutes: %w", err)
	}
	return out, nil
}

// presence is the change of online viewers per minute: +1 at a viewer's
// first presence minute, −1 at the minute they left for good.
func (s *Store) presence(ctx context.Context, sub string, args []any) (map[int64]int64, error) {
	rows, err := s.conn.Query(ctx, `SELECT tupleElement(p, 1) AS m, sum(tupleElement(p, 2)) AS d
FROM (
    SELECT arrayJoin([(intDiv(first, 60000), toInt64(1)),
        (if(left_at > 0 AND left_at >= last, intDiv(left_at, 60000), toInt64(0)), toInt64(-1))]) AS p
    FROM (
        SELECT eu, min(ets) AS first, max(ets) AS last, maxIf(ets, et = 'room_leave') AS left_at
        FROM (`+sub+`) WHERE et IN (`+presenceTypes+`) GROUP BY eu
    )
) WHERE m != 0 GROUP BY m`, args...)
	if err != nil {
		return nil, fmt.Errorf("chreport: presence: %w", err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var m, d int64
		if err := rows.Scan(&m, &d); err != nil {
			return nil, fmt.Errorf("chreport: presence: %w", err)
		}
		out[m] = d
	}
	return out, rows.Err()
}

// concurrency is the peak and the mean of the online viewers over minutes.
func concurrency(mins []*tidev1.MinutePoint) (peak int64, avg float64) {
	if len(mins) == 0 {
		return 0, 0
	}
	var sum int64
	for _, p := range mins {
		peak = max(peak, p.Online)
		sum += p.Online
	}
	return peak, float64(sum) / float64(len(mins))
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
	sub, args := s.rows(sc)
	rows, err := s.conn.Query(ctx, "SELECT intDiv(ets + ?, ?) AS day, "+metricsSelect+" FROM ("+sub+") GROUP BY day",
		append([]any{shanghaiOffMS, dayMS}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("chreport: daily: %w", err)
	}
	defer rows.Close()
	byDay := map[int64]*tidev1.ReportMetrics{}
	for rows.Next() {
		var (
			day int64
			r   metricsRow
		)
		if err := rows.Scan(append([]any{&day}, r.dest()...)...); err != nil {
			return nil, fmt.Errorf("chreport: daily: %w", err)
		}
		byDay[day] = r.proto()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chreport: daily: %w", err)
	}
	mins, err := s.Minutes(ctx, sc)
	if err != nil {
		return nil, err
	}
	perDay := map[int64][]*tidev1.MinutePoint{}
	for _, p := range mins {
		d := ShanghaiDay(p.Minute)
		perDay[d] = append(perDay[d], p)
	}
	var out []*tidev1.DayRow
	for d := fromDay; d <= toDay; d++ {
		m := byDay[d]
		if m == nil {
			var empty metricsRow
			m = empty.proto()
		}
		m.PeakConcurrent, m.AvgConcurrent = concurrency(perDay[d])
		out = append(out, &tidev1.DayRow{Date: DayLabel(d), Metrics: m})
	}
	return out, nil
}
