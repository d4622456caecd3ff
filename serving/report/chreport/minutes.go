package chreport

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// valuedTypes are the events whose value a report adds up: watch time
// (room_leave), like taps, paid and refunded money.
const valuedTypes = `'room_leave', 'like', 'order_paid', 'order_refunded'`

// minuteRow is one minute of Minutes with the sums the MinutePoint does
// not carry (watch time and refunds), for the metrics that add minutes up.
type minuteRow struct {
	*tidev1.MinutePoint
	dwell, refundFen int64
}

// minutePoints is the MinutePoints of mins.
func minutePoints(mins []minuteRow) []*tidev1.MinutePoint {
	out := make([]*tidev1.MinutePoint, len(mins))
	for i, p := range mins {
		out[i] = p.MinutePoint
	}
	return out
}

// Minutes is scope minute by minute, every minute from the first event's to
// the last's (empty minutes included). Online is the viewers in the room at
// the end of the minute: a viewer is in from the minute of their first
// presence event until the minute of their leave, when the leave is their
// last presence event, else to the end.
func (s *Store) Minutes(ctx context.Context, sc Scope) ([]*tidev1.MinutePoint, error) {
	mins, err := s.minutes(ctx, sc)
	return minutePoints(mins), err
}

// minutes is Minutes with each minute's watch time and refunds; its two
// queries run side by side.
func (s *Store) minutes(ctx context.Context, sc Scope) ([]minuteRow, error) {
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

// minuteCounts is the per-minute counts and sums of minutes, quiet minutes
// filled in, in one pass over the counted and valued events: it counts the
// distinct events (uniqExact(eh)) of each minute, type and value — a copy
// of an event has all three, so it is counted once — and a sum is value
// times that count. (Small sets per group; one hash of every event with an
// any() state each was twice as slow.)
func (s *Store) minuteCounts(ctx context.Context, sub string, args []any) ([]minuteRow, error) {
	rows, err := s.conn.Query(ctx, `SELECT m,
    toUInt64(sumIf(c, t = 'room_enter')), toUInt64(sumIf(c, t = 'chat')), toInt64(sumIf(v * c, t = 'like')),
    toUInt64(sumIf(c, t = 'follow')), toUInt64(sumIf(c, t = 'order_paid')), toInt64(sumIf(v * c, t = 'order_paid')),
    toInt64(sumIf(v * c, t = 'room_leave')), toInt64(sumIf(v * c, t = 'order_refunded'))
FROM (
    SELECT intDiv(ets, 60000) AS m, et AS t,
        toInt64(multiIf(et = 'like', greatest(ev, 1), et IN (`+valuedTypes+`), ev, 0)) AS v, uniqExact(eh) AS c
    FROM (`+sub+`) WHERE et IN ('room_enter', 'chat', 'follow', `+valuedTypes+`)
    GROUP BY m, t, v
) GROUP BY m ORDER BY m`, args...)
	if err != nil {
		return nil, fmt.Errorf("chreport: minutes: %w", err)
	}
	defer rows.Close()
	var out []minuteRow
	for rows.Next() {
		var (
			m                            int64
			enters, chats, follows, ord  uint64
			likes, gmv, dwell, refundFen int64
		)
		if err := rows.Scan(&m, &enters, &chats, &likes, &follows, &ord, &gmv, &dwell, &refundFen); err != nil {
			return nil, fmt.Errorf("chreport: minutes: %w", err)
		}
		for len(out) > 0 && out[len(out)-1].Minute/60000+1 < m { // quiet minutes
			out = append(out, minuteRow{MinutePoint: &tidev1.MinutePoint{Minute: out[len(out)-1].Minute + 60000}})
		}
		out = append(out, minuteRow{MinutePoint: &tidev1.MinutePoint{Minute: m * 60000, Enters: int64(enters),
			Chats: int64(chats), Likes: likes, Follows: int64(follows), Orders: int64(ord), GmvFen: gmv},
			dwell: dwell, refundFen: refundFen})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chreport: minutes: %w", err)
	}
	return out, nil
}

// presence is the change of online viewers per minute: +1 at a viewer's
// first presence minute, −1 at the minute they left for good. min and max
// over a viewer's rows are the same with or without copies.
func (s *Store) presence(ctx context.Context, sub string, args []any) (map[int64]int64, error) {
	rows, err := s.conn.Query(ctx, `SELECT tupleElement(p, 1) AS m, sum(tupleElement(p, 2)) AS d
FROM (
    SELECT arrayJoin([(intDiv(first, 60000), toInt64(1)),
        (if(left_at > 0 AND left_at >= last, intDiv(left_at, 60000), toInt64(0)), toInt64(-1))]) AS p
    FROM (
        SELECT uh, min(ets) AS first, max(ets) AS last, maxIf(ets, et = 'room_leave') AS left_at
        FROM (`+sub+`) WHERE et IN (`+presenceTypes+`) GROUP BY uh
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
