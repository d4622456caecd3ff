package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// flashOutcome is what a batch did with one request.
type flashOutcome int

const (
	flashLost      flashOutcome = iota // not enough units left for it after the ones before it
	flashWon                           // held, its order written
	flashDuplicate                     // its order id is already stored
	flashOverLimit                     // its user's count would pass the per-user limit
)

// batchResult is a committed batch: the sale's remaining units and each
// request's outcome, in request order.
type batchResult struct {
	remaining int64
	outcome   []flashOutcome
}

// checkSQL reads, without locking anything, what a batch needs to decide
// its winners: the sale's remaining units, which requests' orders are
// stored already, and which requests would take their user past the
// per-user limit.
const checkSQL = `
WITH c AS (
	SELECT r.n,
		EXISTS (SELECT 1 FROM orders o WHERE o.id = r.order_id) AS dup,
		coalesce((SELECT b.quantity FROM flash_sale_buyers b WHERE b.sale_id = $1 AND b.user_id = r.user_id), 0) + r.qty <= $5 AS ok
	FROM unnest($2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS r(order_id, user_id, qty, n)
)
SELECT (SELECT remaining FROM flash_sales WHERE id = $1),
	coalesce((SELECT array_agg(n) FROM c WHERE dup), '{}'),
	coalesce((SELECT array_agg(n) FROM c WHERE NOT dup AND NOT ok), '{}')`

// holdSQL writes the winners' buyer counts (one row per user: a batch has
// each user once), their holds, and their orders, each with its one line,
// its initial transitions and its payment timer.
const holdSQL = `
WITH u AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[],
		$9::bigint[], $10::bigint[], $11::timestamptz[], $12::timestamptz[], $13::text[], $14::text[], $15::bigint[])
		AS u(id, user_id, merchant_id, room_id, key, sale_id, qty, total, disc, pay, expires_at, created_at, product_id, sku_id, unit)
), b AS (
	INSERT INTO flash_sale_buyers (sale_id, user_id, quantity, per_user_limit)
	SELECT sale_id, user_id, qty, $19 FROM u
	ON CONFLICT (sale_id, user_id) DO UPDATE SET quantity = flash_sale_buyers.quantity + EXCLUDED.quantity
), h AS (
	INSERT INTO stock_reservations (order_id, sku_id, flash_sale_id, user_id, quantity)
	SELECT id, sku_id, sale_id, user_id, qty FROM u
), o AS (
	INSERT INTO orders (id, user_id, merchant_id, room_id, idempotency_key, flash_sale_id, total_fen, discount_fen, pay_fen,
		pay_state, fulfil_state, refund_state, expires_at, created_at)
	SELECT id, user_id, merchant_id, room_id, key, sale_id, total, disc, pay, $16, $17, $18, expires_at, created_at FROM u
	RETURNING id
), l AS (
	INSERT INTO order_lines (order_id, line_no, product_id, sku_id, unit_fen, quantity, total_fen, discount_fen, pay_fen)
	SELECT o.id, 0, u.product_id, u.sku_id, u.unit, u.qty, u.total, u.disc, u.pay FROM o JOIN u USING (id)
), t AS (
	INSERT INTO order_transitions (order_id, machine, from_state, to_state, reason)
	SELECT o.id, m.machine, '', m.state, 'submitted'
	FROM o, (VALUES (1, 'pay', $16), (2, 'fulfil', $17), (3, 'refund', $18)) AS m(k, machine, state)
	ORDER BY o.id, m.k
)
INSERT INTO order_timers (order_id, due_at) SELECT o.id, u.expires_at FROM o JOIN u USING (id)`

// commitBatch writes batch, in one round trip when it can. What this
// process has seen of the sale (its remaining units as last returned, less
// what its batches in flight claim, and the users it wrote orders for) says
// whether every request of the batch fits and none is a repeat or over the
// per-user limit; then the batch is written at once (writeWinners). That
// knowledge is only a guess — PostgreSQL is the truth: what it could not
// see (another process's sales, units released since, this user's order
// from before a restart) fails the transaction as a whole on the orders'
// primary key, the per-user CHECK or the remaining's CHECK, and nothing of
// it is written. Then, and whenever the guess does not cover the batch
// (near the end of the sale; a user's second submit), the batch is checked
// first (commitChecked).
func (r *Orders) commitBatch(ctx context.Context, st *flashState, q *flashQueue, batch []*flashRequest) (batchResult, error) {
	n := len(batch)
	res := batchResult{outcome: make([]flashOutcome, n)}
	q.mu.Lock()
	var units int64
	fits := q.known >= 0
	for _, p := range batch {
		units += p.hold.Quantity
		if q.buyers[p.hold.UserID] {
			fits = false
		}
	}
	fits = fits && units <= q.known-q.claimed
	if fits {
		q.claimed += units
	}
	q.mu.Unlock()
	if fits {
		for i := range res.outcome {
			res.outcome[i] = flashWon
		}
		err := r.writeWinners(ctx, st, q, batch, &res, units)
		if err == nil {
			return res, nil
		}
		r.log.Debug("flash batch refused unchecked, checking it", "sale", st.sale.ID, "orders", n, "err", err)
		q.mu.Lock()
		q.known = -1
		q.mu.Unlock()
	}
	return r.commitChecked(ctx, st, q, batch)
}

// commitChecked writes batch in two round trips. The first reads, locking
// nothing, the remaining units and which requests are repeats or over the
// limit; the winners are the other requests, in arrival order, while their
// units fit the remaining less what this process's other batches in flight
// have claimed. The second writes them (writeWinners). What the first read
// could not see (another process's writes meanwhile) the constraints catch,
// failing the transaction as a whole, and the caller writes those requests
// one by one.
func (r *Orders) commitChecked(ctx context.Context, st *flashState, q *flashQueue, batch []*flashRequest) (batchResult, error) {
	n := len(batch)
	res := batchResult{outcome: make([]flashOutcome, n)}
	ids, users, qtys := make([]string, n), make([]string, n), make([]int64, n)
	for i, p := range batch {
		ids[i], users[i], qtys[i] = p.order.ID, p.hold.UserID, p.hold.Quantity
	}
	var remaining int64
	var dup, over []int64
	if err := r.s.pool.QueryRow(ctx, checkSQL, st.sale.ID, ids, users, qtys, st.sale.PerUserLimit).Scan(&remaining, &dup, &over); err != nil {
		return res, fmt.Errorf("flash batch %s check: %w", st.sale.ID, err)
	}
	for _, k := range dup {
		res.outcome[k-1] = flashDuplicate
	}
	for _, k := range over {
		res.outcome[k-1] = flashOverLimit
	}
	q.mu.Lock()
	q.known = remaining
	free := remaining - q.claimed
	var units int64
	for i, p := range batch {
		if res.outcome[i] == flashLost && units+p.hold.Quantity <= free {
			res.outcome[i] = flashWon
			units += p.hold.Quantity
		}
	}
	q.claimed += units
	q.mu.Unlock()
	res.remaining = remaining - units
	if units == 0 {
		return res, nil
	}
	return res, r.writeWinners(ctx, st, q, batch, &res, units)
}

// writeWinners writes the batch's winners, whose units q has claimed, as
// one pipelined implicit transaction: their buyer counts, holds, orders and
// events, and last the decrement of the sale's row, so that the hot row is
// locked only between that UPDATE and the commit, inside the server. It
// gives the claim back, and on success sets res.remaining and records the
// winners' users and the remaining units in q.
func (r *Orders) writeWinners(ctx context.Context, st *flashState, q *flashQueue, batch []*flashRequest, res *batchResult, units int64) error {
	defer func() {
		q.mu.Lock()
		q.claimed -= units
		q.mu.Unlock()
	}()
	b := &pgx.Batch{}
	if err := r.queueOrders(ctx, b, st, batch, res.outcome); err != nil {
		return err
	}
	var remaining int64
	b.Queue(`UPDATE flash_sales SET remaining = remaining - $2 WHERE id = $1 RETURNING remaining`, st.sale.ID, units).
		QueryRow(func(row pgx.Row) error { return row.Scan(&remaining) })
	// No BEGIN: one implicit transaction, committed at the batch's Sync,
	// rolled back whole when any statement fails.
	if err := r.s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("flash batch %s: %w", st.sale.ID, err)
	}
	res.remaining = remaining
	q.mu.Lock()
	defer q.mu.Unlock()
	// Batches commit in any order: the lowest remaining seen is the latest
	// (units only come back through a release, which a check then reads).
	if q.known < 0 || remaining < q.known {
		q.known = remaining
	}
	for i, p := range batch {
		if res.outcome[i] == flashWon {
			q.buyers[p.hold.UserID] = true
		}
	}
	return nil
}

// queueOrders queues the winners' orders and their ORDER_CREATED events,
// one EventWriter call for the batch (ctx is the batch's, no request's:
// each event is stamped from its own request's context first).
func (r *Orders) queueOrders(ctx context.Context, b *pgx.Batch, st *flashState, batch []*flashRequest, outcome []flashOutcome) error {
	var (
		ids, users, merchants, rooms, keys, sales, products, skus []string
		qtys, totals, discs, pays, units                          []int64
		expires, created                                          []time.Time
	)
	for i, p := range batch {
		if outcome[i] != flashWon {
			continue
		}
		o, l := p.order, p.order.Lines[0]
		ids, users, merchants, rooms, keys, sales = append(ids, o.ID), append(users, o.UserID), append(merchants, o.MerchantID), append(rooms, o.RoomID), append(keys, o.IdempotencyKey), append(sales, o.FlashSaleID)
		qtys, totals, discs, pays = append(qtys, l.Quantity), append(totals, o.TotalFen), append(discs, o.DiscountFen), append(pays, o.PayFen)
		expires, created = append(expires, o.ExpiresAt), append(created, o.CreatedAt)
		products, skus, units = append(products, l.ProductID), append(skus, l.SKUID), append(units, l.UnitFen)
	}
	o := batch[0].order
	b.Queue(holdSQL, ids, users, merchants, rooms, keys, sales, qtys, totals, discs, pays, expires, created, products, skus, units,
		string(o.Pay), string(o.Fulfil), string(o.Refund), st.sale.PerUserLimit)
	var evs []*tidev1.Event
	for i, p := range batch {
		if outcome[i] != flashWon {
			continue
		}
		e := orderEvent(p.order, tidev1.EventType_EVENT_TYPE_ORDER_CREATED)
		if r.stamp != nil {
			r.stamp(p.ctx, e)
		}
		evs = append(evs, e)
	}
	return r.events(ctx, batchExec{b}, evs...)
}
