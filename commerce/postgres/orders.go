package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Orders stores business orders: submit (stock held in the same
// transaction, idempotent by the client's key), cancel, the durable payment
// timeout, payment attempts and payment notices. Every state change writes
// its transition rows and its outbox Event (ingest/outbox) in the same
// transaction, through the EventWriter (ingest/outbox's Add in production).
type Orders struct {
	s       *Store
	seller  *FlashSeller
	events  EventWriter
	timeout time.Duration
	retry   time.Duration
	log     *slog.Logger
	batched bool
	stamp   EventStamper

	observeBatch func(size int)

	flashMu     sync.Mutex
	flashQueues map[string]*flashQueue
}

// OrdersOption configures Orders.
type OrdersOption func(*Orders)

// WithPaymentTimeout sets how long an unpaid order holds its stock
// (default order.DefaultPaymentTimeout).
func WithPaymentTimeout(d time.Duration) OrdersOption { return func(o *Orders) { o.timeout = d } }

// WithTimerRetry sets how long a timeout waits before it is tried again
// when closing the payment failed (default 30s).
func WithTimerRetry(d time.Duration) OrdersOption { return func(o *Orders) { o.retry = d } }

// WithFlashBatches sets whether concurrent flash-sale submits of one sale
// are written together, one transaction per batch (default true; false
// writes each submit in its own pipelined transaction, see
// FlashSeller.Reserve).
func WithFlashBatches(on bool) OrdersOption { return func(o *Orders) { o.batched = on } }

// EventStamper amends events with what ctx, the context of the request
// that caused them, knows about its caller (serving/commerce.StampFacts).
type EventStamper func(ctx context.Context, events ...*tidev1.Event)

// WithEventStamper sets the stamper of batched flash-sale orders' events:
// a batch writes the events of many requests through one EventWriter call
// (with a context of no request), so each event is stamped from its own
// request's context first. Without it they are written as they are.
func WithEventStamper(s EventStamper) OrdersOption { return func(o *Orders) { o.stamp = s } }

// Execer is what order rows and their events are written through: the
// order's transaction (a pgx.Tx), or the batch of a flash sale's pipelined
// hold.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// EventWriter writes Events through the transaction of the state change
// they announce (ingest/outbox.Add: wire it as
// func(ctx, ex, evs...) error { return outbox.Add(ctx, ex, evs...) }).
type EventWriter func(ctx context.Context, ex Execer, events ...*tidev1.Event) error

// Orders returns the order store over s; flash-sale orders hold their units
// through seller; order events are written with events.
func (s *Store) Orders(seller *FlashSeller, events EventWriter, opts ...OrdersOption) *Orders {
	o := &Orders{s: s, seller: seller, events: events, timeout: order.DefaultPaymentTimeout, retry: 30 * time.Second, log: s.log,
		batched: true, flashQueues: map[string]*flashQueue{}}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Order errors.
var (
	// ErrNotUnpaid: the order is no longer waiting for payment.
	ErrNotUnpaid = errors.New("order is not waiting for payment")
	// ErrAmountMismatch: a payment notice's amount is not the attempt's.
	ErrAmountMismatch = errors.New("paid amount does not match the order")
)

// batchExec queues statements on a pgx.Batch.
type batchExec struct{ b *pgx.Batch }

func (e batchExec) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	e.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

// Submit creates o — priced by the caller with commerce/pricing — and holds
// its stock (a flash sale's allotment when o.FlashSaleID is set), all in
// one transaction, and starts its payment timeout. The order id comes from
// the user and the idempotency key: a repeated submit collides with the
// first one's rows and returns the first order and created=false, whatever
// it carries (no read before the write: the hot path stays one round trip;
// a flash-sale order is written with the concurrent submits of its sale,
// see flashbatch.go, and answered after that batch's commit).
func (r *Orders) Submit(ctx context.Context, o order.Order) (_ order.Order, created bool, err error) {
	if o.UserID == "" || o.MerchantID == "" || o.IdempotencyKey == "" || len(o.Lines) == 0 {
		return order.Order{}, false, &commerce.FieldError{Field: "order", Reason: "needs a user, a merchant, an idempotency key and lines"}
	}
	o.ID = order.ID(o.UserID, o.IdempotencyKey)
	o.Pay, o.Fulfil, o.Refund = order.Initial[order.Pay], order.Initial[order.Fulfil], order.Initial[order.Refund]
	o.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	o.ExpiresAt = o.CreatedAt.Add(r.timeout)
	o.TrackingNo, o.PaidAt = "", time.Time{}
	if o.FlashSaleID != "" {
		err = r.submitFlash(ctx, o)
	} else {
		err = r.s.tx(ctx, true, func(tx pgx.Tx) error {
			if err := r.writeOrder(ctx, tx, o); err != nil {
				return err
			}
			if err := usePromotions(ctx, tx, o.UserID, o.ID, o.Promotions); err != nil {
				return err
			}
			holds := make([]commerce.Hold, len(o.Lines))
			for i, l := range o.Lines {
				holds[i] = commerce.Hold{OrderID: o.ID, UserID: o.UserID, SKUID: l.SKUID, Quantity: l.Quantity}
			}
			return r.s.ReserveTx(ctx, tx, holds...)
		})
	}
	if err != nil {
		// The key made an order before (its rows collide), or a concurrent
		// submit with the same key won: return that order.
		if prev, perr := r.Order(ctx, o.ID); perr == nil {
			return prev, false, nil
		}
		return order.Order{}, false, err
	}
	return o, true, nil
}

func (r *Orders) submitFlash(ctx context.Context, o order.Order) error {
	if r.seller == nil {
		return errors.New("orders: no flash seller configured")
	}
	sale, err := r.seller.Sale(ctx, o.FlashSaleID)
	if err != nil {
		return err
	}
	if len(o.Promotions) > 0 {
		return &commerce.FieldError{Field: "promotions", Reason: "a flash-sale price does not stack with promotions"}
	}
	if len(o.Lines) != 1 || o.Lines[0].SKUID != sale.SKUID || o.Lines[0].UnitFen != sale.PriceFen || o.MerchantID != sale.MerchantID {
		return &commerce.FieldError{Field: "lines", Reason: fmt.Sprintf("a flash-sale order is one line of sku %s at %d fen", sale.SKUID, sale.PriceFen)}
	}
	h := commerce.Hold{OrderID: o.ID, UserID: o.UserID, FlashSaleID: o.FlashSaleID, Quantity: o.Lines[0].Quantity}
	if !r.batched {
		return r.submitOne(ctx, o, h)
	}
	st, h, err := r.seller.admit(ctx, h)
	if err != nil {
		return err
	}
	return r.submitBatched(ctx, st, o, h)
}

// submitOne writes one flash-sale order and its hold in its own pipelined
// transaction.
func (r *Orders) submitOne(ctx context.Context, o order.Order, h commerce.Hold) error {
	var werr error
	_, err := r.seller.Reserve(ctx, h, func(b *pgx.Batch) { werr = r.writeOrder(ctx, batchExec{b}, o) })
	if werr != nil {
		return werr
	}
	return err
}

// writeOrder writes a new order, its lines, its initial transitions and
// its timer in one statement (the flash-sale pipeline pays per statement),
// and its ORDER_CREATED event.
func (r *Orders) writeOrder(ctx context.Context, ex Execer, o order.Order) error {
	n := len(o.Lines)
	var (
		products, skus                   = make([]string, n), make([]string, n)
		units, qtys, totals, discs, pays = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	)
	for i, l := range o.Lines {
		products[i], skus[i] = l.ProductID, l.SKUID
		units[i], qtys[i], totals[i], discs[i], pays[i] = l.UnitFen, l.Quantity, l.TotalFen, l.DiscountFen, l.PayFen
	}
	if _, err := ex.Exec(ctx, `
		WITH o AS (
			INSERT INTO orders (id, user_id, merchant_id, room_id, idempotency_key, flash_sale_id, total_fen, discount_fen, pay_fen,
				pay_state, fulfil_state, refund_state, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, nullif($6, ''), $7, $8, $9, $10, $11, $12, $13, $14)
			RETURNING id
		), l AS (
			INSERT INTO order_lines (order_id, line_no, product_id, sku_id, unit_fen, quantity, total_fen, discount_fen, pay_fen)
			SELECT o.id, u.n - 1, u.p, u.k, u.unit, u.q, u.t, u.d, u.pay
			FROM o, unnest($15::text[], $16::text[], $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[])
				WITH ORDINALITY AS u(p, k, unit, q, t, d, pay, n)
		), t AS (
			INSERT INTO order_transitions (order_id, machine, from_state, to_state, reason)
			SELECT o.id, m.machine, '', m.state, 'submitted' FROM o, (VALUES ('pay', $10), ('fulfil', $11), ('refund', $12)) AS m(machine, state)
		)
		INSERT INTO order_timers (order_id, due_at) SELECT id, $13 FROM o`,
		o.ID, o.UserID, o.MerchantID, o.RoomID, o.IdempotencyKey, o.FlashSaleID, o.TotalFen, o.DiscountFen, o.PayFen,
		string(o.Pay), string(o.Fulfil), string(o.Refund), o.ExpiresAt, o.CreatedAt,
		products, skus, units, qtys, totals, discs, pays); err != nil {
		return fmt.Errorf("insert order %s: %w", o.ID, err)
	}
	return r.events(ctx, ex, orderEvent(o, tidev1.EventType_EVENT_TYPE_ORDER_CREATED))
}

// orderEvent is the server's Event of an order fact. Its id is fixed by the
// order and the type, so a fact is one event however often it is relayed.
func orderEvent(o order.Order, t tidev1.EventType) *tidev1.Event {
	e := &tidev1.Event{
		EventId:    o.ID + "-" + tidev1.EventType_name[int32(t)],
		Type:       t,
		Ts:         time.Now().UnixMilli(),
		UserId:     o.UserID,
		MerchantId: o.MerchantID,
		RoomId:     o.RoomID,
		Value:      o.PayFen,
		Attrs:      map[string]string{"order_id": o.ID},
	}
	if len(o.Lines) > 0 {
		e.ProductId = o.Lines[0].ProductID
	}
	if o.FlashSaleID != "" {
		e.Attrs["flash_sale_id"] = o.FlashSaleID
	}
	return e
}

// lockedOrderEvent is orderEvent for an order read without its lines (under
// its row lock): the first line's product is read for the event.
func lockedOrderEvent(ctx context.Context, tx pgx.Tx, o order.Order, t tidev1.EventType) (*tidev1.Event, error) {
	e := orderEvent(o, t)
	if e.ProductId == "" {
		err := tx.QueryRow(ctx, `SELECT product_id FROM order_lines WHERE order_id = $1 ORDER BY line_no LIMIT 1`, o.ID).Scan(&e.ProductId)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("order %s lines: %w", o.ID, err)
		}
	}
	return e, nil
}

// record writes transitions of one order (checked against the table).
func record(ctx context.Context, tx pgx.Tx, orderID string, ts ...order.Transition) error {
	for _, t := range ts {
		if err := order.Check(t.Machine, t.From, t.To); err != nil {
			return fmt.Errorf("order %s: %w", orderID, err)
		}
		col := map[order.Machine]string{order.Pay: "pay_state", order.Fulfil: "fulfil_state", order.Refund: "refund_state"}[t.Machine]
		tag, err := tx.Exec(ctx, `UPDATE orders SET `+col+` = $3, updated_at = now() WHERE id = $1 AND `+col+` = $2`, orderID, string(t.From), string(t.To))
		if err != nil {
			return fmt.Errorf("order %s %s: %w", orderID, t.Machine, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("order %s %s is not %s: %w", orderID, t.Machine, t.From, ErrNotUnpaid)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO order_transitions (order_id, machine, from_state, to_state, reason) VALUES ($1, $2, $3, $4, $5)`,
			orderID, string(t.Machine), string(t.From), string(t.To), t.Reason); err != nil {
			return fmt.Errorf("order %s transition: %w", orderID, err)
		}
	}
	return nil
}
