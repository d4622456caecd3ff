package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/features"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// productTouch is one viewer's engagement with one product over the price
// lookback.
type productTouch struct {
	clicks, carts, paid uint64
	paidFen             int64 // summed paid order value
}

// price is the product's unit price for the band: the catalogue's when
// Options.Prices knows it, else the mean paid order value.
func (o *Options) price(product string, t productTouch) int64 {
	if o.Prices != nil {
		if p, ok := o.Prices(product); ok && p > 0 {
			return p
		}
	}
	if t.paid > 0 {
		return t.paidFen / int64(t.paid)
	}
	return 0
}

// addPrice weighs a product's price into a viewer's band statistics with
// the online store's click, cart and order weights.
func (o *Options) addPrice(st *features.PriceStats, product string, t productTouch) {
	w := o.Weights
	st.Add(o.price(product, t), float64(w.Click)*float64(t.clicks)+float64(w.Cart)*float64(t.carts)+float64(w.Order)*float64(t.paid))
}

// prices reads each viewer's clicks, carts and paid orders per product over
// PriceLookback into their price band.
func (o *Options) prices(ctx context.Context, conn driver.Conn, now time.Time, get func(string) *viewer) error {
	from := now.Add(-o.PriceLookback)
	q := `SELECT user_id, product_id, countIf(type = ?), countIf(type = ?), countIf(type = ?), sumIf(value, type = ?)
	FROM ` + o.table() + `
	WHERE date >= toDate(?) AND received_at >= ? AND user_id != '' AND product_id != '' AND type IN (?, ?, ?)
	GROUP BY user_id, product_id
	LIMIT ?`
	click, cart, paid := name(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK), name(tidev1.EventType_EVENT_TYPE_ADD_TO_CART),
		name(tidev1.EventType_EVENT_TYPE_ORDER_PAID)
	rows, err := conn.Query(ctx, q, click, cart, paid, paid, prune(from), from.UnixMilli(), click, cart, paid, o.MaxRows)
	if err != nil {
		return fmt.Errorf("memory: prices from %s: %w", o.table(), err)
	}
	defer rows.Close()
	stats := map[*viewer]*features.PriceStats{}
	n := 0
	for rows.Next() {
		var u, p string
		var t productTouch
		if err := rows.Scan(&u, &p, &t.clicks, &t.carts, &t.paid, &t.paidFen); err != nil {
			return fmt.Errorf("memory: prices: %w", err)
		}
		v := get(u)
		st := stats[v]
		if st == nil {
			st = &features.PriceStats{}
			stats[v] = st
		}
		o.addPrice(st, p, t)
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("memory: prices: %w", err)
	}
	for v, st := range stats {
		v.price = st.Band()
	}
	o.warnCap("prices", n)
	return nil
}
