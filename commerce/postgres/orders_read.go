package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/commerce/order"
)

const orderColumns = `id, user_id, merchant_id, room_id, idempotency_key, coalesce(flash_sale_id, ''), total_fen, discount_fen, pay_fen,
	pay_state, fulfil_state, refund_state, tracking_no, expires_at, coalesce(paid_at, 'epoch'), created_at`

func scanOrder(row pgx.Row) (order.Order, error) {
	var (
		o                      order.Order
		pay, fulfil, refund    string
		expires, paid, created time.Time
	)
	err := row.Scan(&o.ID, &o.UserID, &o.MerchantID, &o.RoomID, &o.IdempotencyKey, &o.FlashSaleID, &o.TotalFen, &o.DiscountFen, &o.PayFen,
		&pay, &fulfil, &refund, &o.TrackingNo, &expires, &paid, &created)
	if err != nil {
		return o, err
	}
	o.Pay, o.Fulfil, o.Refund = order.State(pay), order.State(fulfil), order.State(refund)
	o.ExpiresAt, o.CreatedAt = expires.UTC(), created.UTC()
	if paid.Unix() != 0 {
		o.PaidAt = paid.UTC()
	}
	return o, nil
}

// Order returns an order with its lines, whoever owns it (for internal use;
// callers acting for a user or a merchant use UserOrder or MerchantOrder).
func (r *Orders) Order(ctx context.Context, id string) (order.Order, error) {
	o, err := scanOrder(r.s.pool.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return o, fmt.Errorf("order %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("order %s: %w", id, err)
	}
	rows, err := r.s.pool.Query(ctx, `
		SELECT product_id, sku_id, unit_fen, quantity, total_fen, discount_fen, pay_fen
		FROM order_lines WHERE order_id = $1 ORDER BY line_no`, id)
	if err != nil {
		return o, fmt.Errorf("order %s lines: %w", id, err)
	}
	o.Lines, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (order.Line, error) {
		var l order.Line
		err := row.Scan(&l.ProductID, &l.SKUID, &l.UnitFen, &l.Quantity, &l.TotalFen, &l.DiscountFen, &l.PayFen)
		return l, err
	})
	if err != nil {
		return o, fmt.Errorf("order %s lines: %w", id, err)
	}
	return o, nil
}

// UserOrder returns the user's order id; another user's order is
// ErrNotFound (its existence is not revealed).
func (r *Orders) UserOrder(ctx context.Context, userID, id string) (order.Order, error) {
	o, err := r.Order(ctx, id)
	if err == nil && o.UserID != userID {
		return order.Order{}, fmt.Errorf("order %s: %w", id, ErrNotFound)
	}
	return o, err
}

// MerchantOrder returns the merchant's order id; another merchant's order is
// ErrNotFound.
func (r *Orders) MerchantOrder(ctx context.Context, merchantID, id string) (order.Order, error) {
	o, err := r.Order(ctx, id)
	if err == nil && o.MerchantID != merchantID {
		return order.Order{}, fmt.Errorf("order %s: %w", id, ErrNotFound)
	}
	return o, err
}

// Transitions returns the order's transition rows, oldest first.
func (r *Orders) Transitions(ctx context.Context, id string) ([]order.Transition, error) {
	rows, err := r.s.pool.Query(ctx, `SELECT machine, from_state, to_state, reason FROM order_transitions WHERE order_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("order %s transitions: %w", id, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (order.Transition, error) {
		var t order.Transition
		var m, from, to string
		err := row.Scan(&m, &from, &to, &t.Reason)
		t.Machine, t.From, t.To = order.Machine(m), order.State(from), order.State(to)
		return t, err
	})
}

// ListFilter selects orders of one user or one merchant, newest first.
type ListFilter struct {
	UserID     string
	MerchantID string
	Before     time.Time // created before; zero: now
	Limit      int       // default 20, at most 100
}

// List returns orders (without lines) of f.UserID or f.MerchantID — exactly
// one must be set.
func (r *Orders) List(ctx context.Context, f ListFilter) ([]order.Order, error) {
	col, v := "user_id", f.UserID
	if f.MerchantID != "" {
		col, v = "merchant_id", f.MerchantID
	}
	if v == "" || (f.UserID != "" && f.MerchantID != "") {
		return nil, errors.New("orders: list by exactly one of user or merchant")
	}
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	if f.Before.IsZero() {
		f.Before = time.Now().Add(time.Second)
	}
	rows, err := r.s.pool.Query(ctx, `SELECT `+orderColumns+` FROM orders WHERE `+col+` = $1 AND created_at < $2 ORDER BY created_at DESC LIMIT $3`, v, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (order.Order, error) { return scanOrder(row) })
}
