package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// PaymentCloser closes a payment attempt at the payment provider (WeChat
// Pay's close-order), so that it can no longer be paid. It returns
// commerce.ErrAlreadyPaid when the provider says the attempt was paid: the
// order is then not closed; its paid notice is on the way (or is queried).
type PaymentCloser interface {
	ClosePayment(ctx context.Context, outTradeNo string) error
}

// Attempt is one payment attempt (one out_trade_no) of an order.
type Attempt struct {
	OutTradeNo string
	OrderID    string
	AmountFen  int64
	PrepayID   string
	State      string // open, paid, closed
	ExpiresAt  time.Time
}

// OpenAttempt returns the user's unpaid order's open payment attempt, or
// creates one (out_trade_no = order id + "_" + sequence). An open attempt
// is reused — an out_trade_no is prepaid once, and its prepay_id serves
// every retry — so created is false then. Its ExpiresAt is the order's: the
// provider's time_expire is never later than our release.
func (r *Orders) OpenAttempt(ctx context.Context, userID, orderID string) (a Attempt, created bool, err error) {
	err = r.s.tx(ctx, true, func(tx pgx.Tx) error {
		var (
			owner, pay string
			amount     int64
			expires    time.Time
		)
		err := tx.QueryRow(ctx, `SELECT user_id, pay_state, pay_fen, expires_at FROM orders WHERE id = $1 FOR UPDATE`, orderID).Scan(&owner, &pay, &amount, &expires)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && owner != userID) {
			return fmt.Errorf("order %s: %w", orderID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("order %s: %w", orderID, err)
		}
		if order.State(pay) != order.Unpaid || !time.Now().Before(expires) {
			return fmt.Errorf("order %s (%s): %w", orderID, pay, ErrNotUnpaid)
		}
		if amount <= 0 {
			return &commerce.FieldError{Field: "order", Reason: "pays nothing: no payment needed"}
		}
		err = tx.QueryRow(ctx, `SELECT out_trade_no, order_id, amount_fen, prepay_id, state, expires_at FROM payment_attempts
			WHERE order_id = $1 AND state = 'open' ORDER BY created_at DESC LIMIT 1`, orderID).
			Scan(&a.OutTradeNo, &a.OrderID, &a.AmountFen, &a.PrepayID, &a.State, &a.ExpiresAt)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("order %s attempts: %w", orderID, err)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM payment_attempts WHERE order_id = $1`, orderID).Scan(&n); err != nil {
			return fmt.Errorf("order %s attempts: %w", orderID, err)
		}
		a = Attempt{OutTradeNo: fmt.Sprintf("%s_%d", orderID, n+1), OrderID: orderID, AmountFen: amount, State: "open", ExpiresAt: expires.UTC()}
		if _, err := tx.Exec(ctx, `INSERT INTO payment_attempts (out_trade_no, order_id, amount_fen, expires_at) VALUES ($1, $2, $3, $4)`,
			a.OutTradeNo, orderID, amount, expires); err != nil {
			return fmt.Errorf("order %s attempt: %w", orderID, err)
		}
		created = true
		return nil
	})
	a.ExpiresAt = a.ExpiresAt.UTC()
	return a, created, err
}

// SetPrepay stores the provider's prepay id of an open attempt, for reuse.
func (r *Orders) SetPrepay(ctx context.Context, outTradeNo, prepayID string) error {
	_, err := r.s.pool.Exec(ctx, `UPDATE payment_attempts SET prepay_id = $2, updated_at = now() WHERE out_trade_no = $1 AND state = 'open'`, outTradeNo, prepayID)
	if err != nil {
		return fmt.Errorf("attempt %s prepay: %w", outTradeNo, err)
	}
	return nil
}

// Cancel closes the user's unpaid order: its open payment attempts are
// closed at the provider first, then, under the order's row lock, the order
// is closed, its stock released and ORDER_CANCELLED written.
func (r *Orders) Cancel(ctx context.Context, userID, orderID string, closer PaymentCloser) error {
	if _, err := r.UserOrder(ctx, userID, orderID); err != nil {
		return err
	}
	return r.close(ctx, orderID, "cancelled by the buyer", closer, false)
}

// close closes orderID if still unpaid (and, when due, only if its expiry
// has come).
func (r *Orders) close(ctx context.Context, orderID, reason string, closer PaymentCloser, due bool) error {
	attempts, err := r.openAttempts(ctx, orderID)
	if err != nil {
		return err
	}
	for _, no := range attempts {
		if closer == nil {
			return fmt.Errorf("order %s has open payment %s and no closer", orderID, no)
		}
		if err := closer.ClosePayment(ctx, no); err != nil {
			return fmt.Errorf("close payment %s: %w", no, err)
		}
	}
	var released []commerce.Hold
	err = r.s.tx(ctx, true, func(tx pgx.Tx) error {
		o, err := scanOrder(tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1 FOR UPDATE`, orderID))
		if err != nil {
			return fmt.Errorf("order %s: %w", orderID, err)
		}
		if o.Pay != order.Unpaid {
			return fmt.Errorf("order %s (%s): %w", orderID, o.Pay, ErrNotUnpaid)
		}
		if due && time.Now().Before(o.ExpiresAt) {
			return nil
		}
		// An attempt opened after the closes above would still be payable.
		var open int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM payment_attempts WHERE order_id = $1 AND state = 'open' AND NOT (out_trade_no = ANY($2))`, orderID, attempts).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return fmt.Errorf("order %s: a payment was opened while closing; try again", orderID)
		}
		if _, err := tx.Exec(ctx, `UPDATE payment_attempts SET state = 'closed', updated_at = now() WHERE order_id = $1 AND state = 'open'`, orderID); err != nil {
			return err
		}
		if err := record(ctx, tx, orderID, order.Transition{Machine: order.Pay, From: order.Unpaid, To: order.Closed, Reason: reason}); err != nil {
			return err
		}
		if released, err = r.s.ReleaseTx(ctx, tx, orderID); err != nil {
			return err
		}
		if err := r.presaleOrderClosed(ctx, tx, orderID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM order_timers WHERE order_id = $1`, orderID); err != nil {
			return err
		}
		e, err := lockedOrderEvent(ctx, tx, o, tidev1.EventType_EVENT_TYPE_ORDER_CANCELLED)
		if err != nil {
			return err
		}
		return r.events(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	for _, h := range released {
		if h.FlashSaleID != "" && r.seller != nil {
			r.seller.Released(h.FlashSaleID)
		}
	}
	return nil
}

func (r *Orders) openAttempts(ctx context.Context, orderID string) ([]string, error) {
	rows, err := r.s.pool.Query(ctx, `SELECT out_trade_no FROM payment_attempts WHERE order_id = $1 AND state = 'open' ORDER BY out_trade_no`, orderID)
	if err != nil {
		return nil, fmt.Errorf("order %s attempts: %w", orderID, err)
	}
	nos, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("order %s attempts: %w", orderID, err)
	}
	return nos, nil
}

// ExpireDue closes up to limit orders whose payment timeout is due and
// returns how many it closed. Due timers are claimed with FOR UPDATE SKIP
// LOCKED, so several workers (processes) share them. A timer whose close
// fails (the provider is unreachable, or says the attempt was paid) is
// pushed back by the retry interval; a paid order's timer is dropped.
func (r *Orders) ExpireDue(ctx context.Context, closer PaymentCloser, limit int) (int, error) {
	closed := 0
	for range limit {
		var id string
		tx, err := r.s.pool.Begin(ctx)
		if err != nil {
			return closed, fmt.Errorf("timers: %w", err)
		}
		err = tx.QueryRow(ctx, `SELECT order_id FROM order_timers WHERE due_at <= now() ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED`).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			_ = tx.Rollback(ctx)
			return closed, nil
		}
		if err != nil {
			_ = tx.Rollback(ctx)
			return closed, fmt.Errorf("timers: %w", err)
		}
		// Push the timer back first, in the claiming transaction: if this
		// worker dies mid-close, the timer comes due again.
		if _, err := tx.Exec(ctx, `UPDATE order_timers SET due_at = now() + $2::interval, tries = tries + 1 WHERE order_id = $1`, id, r.retry.String()); err != nil {
			_ = tx.Rollback(ctx)
			return closed, fmt.Errorf("timer %s: %w", id, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return closed, fmt.Errorf("timer %s: %w", id, err)
		}
		switch err := r.close(ctx, id, "payment timeout", closer, true); {
		case err == nil:
			closed++
		case errors.Is(err, ErrNotUnpaid):
			if _, err := r.s.pool.Exec(ctx, `DELETE FROM order_timers WHERE order_id = $1`, id); err != nil {
				return closed, fmt.Errorf("timer %s: %w", id, err)
			}
		default:
			r.log.Warn("order timeout: close failed, will retry", "order", id, "retry", r.retry, "err", err)
		}
	}
	return closed, nil
}
