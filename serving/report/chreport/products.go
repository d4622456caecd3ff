package chreport

import (
	"context"
	"fmt"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Products is the funnel and money of every product in scope, most GMV
// first (then most clicks), at most 500.
func (s *Store) Products(ctx context.Context, sc Scope) ([]*tidev1.ProductRow, error) {
	if err := s.flagsReady(ctx); err != nil {
		return nil, err
	}
	sub, args := s.rows(sc)
	rows, err := s.conn.Query(ctx, `SELECT ep,
    uniqExactIf(uh, et = 'product_impression'), uniqExactIf(uh, et = 'product_click'),
    uniqExactIf(uh, et = 'add_to_cart'), uniqExactIf(uh, et = 'order_created'),
    uniqExactIf(uh, et = 'order_paid'),
    `+countOf("et = 'product_click'")+` AS clicks, `+countOf("et = 'order_paid'")+`,
    `+sumOf("ev", "et = 'order_paid'")+` AS gmv,
    `+countOf("et = 'order_refunded'")+`, `+sumOf("ev", "et = 'order_refunded'")+`
FROM (`+sub+`) WHERE ep != '' GROUP BY ep ORDER BY gmv DESC, clicks DESC, ep LIMIT 500`, args...)
	if err != nil {
		return nil, fmt.Errorf("chreport: products: %w", err)
	}
	defer rows.Close()
	var out []*tidev1.ProductRow
	for rows.Next() {
		var (
			p                       tidev1.ProductRow
			users                   [5]uint64
			clicks, orders, refunds uint64
		)
		if err := rows.Scan(&p.ProductId, &users[0], &users[1], &users[2], &users[3], &users[4],
			&clicks, &orders, &p.GmvFen, &refunds, &p.RefundFen); err != nil {
			return nil, fmt.Errorf("chreport: products: %w", err)
		}
		p.ImpressionUsers, p.ClickUsers, p.CartUsers = int64(users[0]), int64(users[1]), int64(users[2])
		p.OrderUsers, p.Buyers = int64(users[3]), int64(users[4])
		p.Clicks, p.Orders, p.Refunds = int64(clicks), int64(orders), int64(refunds)
		p.Funnel = funnel(users[:], 2)
		out = append(out, &p)
	}
	return out, rows.Err()
}
