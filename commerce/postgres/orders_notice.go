package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/commerce/order"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Payment is a verified notice (or query result) that an attempt was paid.
type Payment struct {
	OutTradeNo    string
	TransactionID string
	AmountFen     int64
	PaidAt        time.Time
}

// PaidOutcome says what a payment did.
type PaidOutcome string

// Payment outcomes.
const (
	// OrderPaid: the order moved to paid; its stock is sold.
	OrderPaid PaidOutcome = "paid"
	// AlreadyPaid: this attempt was recorded before (a repeated notice).
	AlreadyPaid PaidOutcome = "duplicate"
	// RefundQueued: the money came for an order that was closed, or that
	// another attempt had paid; a refund of it was queued.
	RefundQueued PaidOutcome = "refund_queued"
)

// Refund is a refund to send to the provider.
type Refund struct {
	OutRefundNo string
	OrderID     string
	OutTradeNo  string
	AmountFen   int64
	TotalFen    int64 // what the attempt was paid
	Reason      string
	State       string // pending, processing, success, failed
}

// MarkPaid records p under the order's row lock, idempotently: a repeated
// notice is AlreadyPaid and changes nothing; a wrong amount is
// ErrAmountMismatch and changes nothing; money for an unpaid order pays it
// (stock sold, timer dropped, ORDER_PAID written); money for a closed order
// — its stock may be resold — or for an order another attempt paid queues
// an automatic refund.
func (r *Orders) MarkPaid(ctx context.Context, p Payment) (out PaidOutcome, err error) {
	var orderID string
	if err := r.s.pool.QueryRow(ctx, `SELECT order_id FROM payment_attempts WHERE out_trade_no = $1`, p.OutTradeNo).Scan(&orderID); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return "", fmt.Errorf("payment %s: %w", p.OutTradeNo, ErrNotFound)
		}
		return "", fmt.Errorf("payment %s: %w", p.OutTradeNo, err)
	}
	var groupID string
	if err := r.s.pool.QueryRow(ctx, `SELECT coalesce(group_id, '') FROM orders WHERE id = $1`, orderID).Scan(&groupID); err != nil {
		return "", fmt.Errorf("order %s: %w", orderID, err)
	}
	err = r.s.tx(ctx, true, func(tx pgx.Tx) error {
		// A group-buy order's group is locked first (the order ExpireGroups
		// locks in), then the order, then the attempt (as Cancel does).
		if groupID != "" {
			if _, err := tx.Exec(ctx, `SELECT 1 FROM buy_groups WHERE id = $1 FOR UPDATE`, groupID); err != nil {
				return fmt.Errorf("group %s: %w", groupID, err)
			}
		}
		o, err := scanOrder(tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1 FOR UPDATE`, orderID))
		if err != nil {
			return fmt.Errorf("order %s: %w", orderID, err)
		}
		var (
			amount int64
			state  string
		)
		if err := tx.QueryRow(ctx, `SELECT amount_fen, state FROM payment_attempts WHERE out_trade_no = $1 FOR UPDATE`, p.OutTradeNo).Scan(&amount, &state); err != nil {
			return fmt.Errorf("payment %s: %w", p.OutTradeNo, err)
		}
		if amount != p.AmountFen {
			return fmt.Errorf("payment %s: paid %d fen, attempt is %d: %w", p.OutTradeNo, p.AmountFen, amount, ErrAmountMismatch)
		}
		if state == "paid" {
			out = AlreadyPaid
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE payment_attempts SET state = 'paid', transaction_id = $2, updated_at = now() WHERE out_trade_no = $1`, p.OutTradeNo, p.TransactionID); err != nil {
			return fmt.Errorf("payment %s: %w", p.OutTradeNo, err)
		}
		switch o.Pay {
		case order.Unpaid:
			out = OrderPaid
			if err := record(ctx, tx, o.ID, order.Transition{Machine: order.Pay, From: order.Unpaid, To: order.Paid, Reason: "paid " + p.OutTradeNo}); err != nil {
				return err
			}
			paidAt := p.PaidAt
			if paidAt.IsZero() {
				paidAt = time.Now()
			}
			if _, err := tx.Exec(ctx, `UPDATE orders SET paid_at = $2 WHERE id = $1`, o.ID, paidAt.UTC()); err != nil {
				return err
			}
			if _, err := r.s.SellTx(ctx, tx, o.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM order_timers WHERE order_id = $1`, o.ID); err != nil {
				return err
			}
			e, err := lockedOrderEvent(ctx, tx, o, tidev1.EventType_EVENT_TYPE_ORDER_PAID)
			if err != nil {
				return err
			}
			if err := r.events(ctx, tx, e); err != nil {
				return err
			}
			if err := r.presalePaid(ctx, tx, o); err != nil {
				return err
			}
			if groupID != "" {
				o.Pay = order.Paid
				return r.groupPaid(ctx, tx, o, groupID)
			}
			return nil
		case order.Closed:
			out = RefundQueued
			if err := record(ctx, tx, o.ID,
				order.Transition{Machine: order.Pay, From: order.Closed, To: order.PaidAfterClose, Reason: "paid " + p.OutTradeNo + " after close"},
				order.Transition{Machine: order.Refund, From: o.Refund, To: order.Refunding, Reason: "automatic: paid after close"}); err != nil {
				return err
			}
			return queueRefund(ctx, tx, o.ID, p.OutTradeNo, p.AmountFen, "paid after the order closed")
		default:
			// Paid twice (two attempts both paid): give the second one back.
			out = RefundQueued
			r.log.Warn("order paid twice: refunding the second payment", "order", o.ID, "out_trade_no", p.OutTradeNo)
			return queueRefund(ctx, tx, o.ID, p.OutTradeNo, p.AmountFen, "second payment of a paid order")
		}
	})
	return out, err
}

// queueRefund adds a pending refund of a whole attempt.
func queueRefund(ctx context.Context, tx pgx.Tx, orderID, outTradeNo string, amount int64, reason string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO refunds (out_refund_no, order_id, out_trade_no, amount_fen, reason) VALUES ($1, $2, $3, $4, $5)`,
		"r"+outTradeNo, orderID, outTradeNo, amount, reason); err != nil {
		return fmt.Errorf("order %s refund: %w", orderID, err)
	}
	return nil
}

// PendingRefunds returns refunds waiting to be sent (pending or failed),
// oldest first.
func (r *Orders) PendingRefunds(ctx context.Context, limit int) ([]Refund, error) {
	rows, err := r.s.pool.Query(ctx, `
		SELECT f.out_refund_no, f.order_id, f.out_trade_no, f.amount_fen, a.amount_fen, f.reason, f.state
		FROM refunds f JOIN payment_attempts a USING (out_trade_no)
		WHERE f.state IN ('pending', 'failed') ORDER BY f.created_at LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("pending refunds: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Refund, error) {
		var f Refund
		err := row.Scan(&f.OutRefundNo, &f.OrderID, &f.OutTradeNo, &f.AmountFen, &f.TotalFen, &f.Reason, &f.State)
		return f, err
	})
}

// RefundSent records the provider's first answer to a refund: processing,
// or success / failed when it answered at once.
func (r *Orders) RefundSent(ctx context.Context, outRefundNo, providerStatus string) error {
	if providerStatus == "SUCCESS" || providerStatus == "CLOSED" || providerStatus == "ABNORMAL" {
		return r.RefundDone(ctx, outRefundNo, providerStatus == "SUCCESS")
	}
	return r.s.tx(ctx, true, func(tx pgx.Tx) error {
		var orderID string
		err := tx.QueryRow(ctx, `UPDATE refunds SET state = 'processing', updated_at = now() WHERE out_refund_no = $1 AND state IN ('pending', 'failed') RETURNING order_id`, outRefundNo).Scan(&orderID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("refund %s: %w", outRefundNo, err)
		}
		// A retried refund takes the order's machine from failed back to refunding.
		var st string
		if err := tx.QueryRow(ctx, `SELECT refund_state FROM orders WHERE id = $1 FOR UPDATE`, orderID).Scan(&st); err != nil {
			return fmt.Errorf("order %s: %w", orderID, err)
		}
		if order.State(st) == order.RefundFailed {
			return record(ctx, tx, orderID, order.Transition{Machine: order.Refund, From: order.RefundFailed, To: order.Refunding, Reason: "retry " + outRefundNo})
		}
		return nil
	})
}

// RefundDone records a refund's outcome (from its notify or a query),
// idempotently. A refund that moved the order's refund machine moves it on —
// refunding → refunded with ORDER_REFUNDED, or → failed — in the same
// transaction; a failed one is retried by the next PendingRefunds pass.
func (r *Orders) RefundDone(ctx context.Context, outRefundNo string, succeeded bool) error {
	return r.s.tx(ctx, true, func(tx pgx.Tx) error {
		var orderID string
		var amount int64
		if err := tx.QueryRow(ctx, `SELECT order_id, amount_fen FROM refunds WHERE out_refund_no = $1`, outRefundNo).Scan(&orderID, &amount); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("refund %s: %w", outRefundNo, ErrNotFound)
			}
			return fmt.Errorf("refund %s: %w", outRefundNo, err)
		}
		o, err := scanOrder(tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1 FOR UPDATE`, orderID))
		if err != nil {
			return fmt.Errorf("order %s: %w", orderID, err)
		}
		state := "failed"
		if succeeded {
			state = "success"
		}
		tag, err := tx.Exec(ctx, `UPDATE refunds SET state = $2, updated_at = now() WHERE out_refund_no = $1 AND state IN ('pending', 'processing', 'failed')`, outRefundNo, state)
		if err != nil {
			return fmt.Errorf("refund %s: %w", outRefundNo, err)
		}
		if tag.RowsAffected() == 0 || o.Refund != order.Refunding {
			return nil // recorded before, or a refund outside the order's machine (a second payment)
		}
		if !succeeded {
			return record(ctx, tx, o.ID, order.Transition{Machine: order.Refund, From: order.Refunding, To: order.RefundFailed, Reason: "provider: " + outRefundNo + " failed"})
		}
		if err := record(ctx, tx, o.ID, order.Transition{Machine: order.Refund, From: order.Refunding, To: order.Refunded, Reason: "provider: " + outRefundNo + " succeeded"}); err != nil {
			return err
		}
		if o.Pay == order.PaidAfterClose {
			return nil // never announced as paid, so not as refunded either
		}
		e, err := lockedOrderEvent(ctx, tx, o, tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED)
		if err != nil {
			return err
		}
		e.Value = amount
		return r.events(ctx, tx, e)
	})
}
