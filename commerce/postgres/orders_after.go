package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
)

// lockOrder loads and locks an order in tx, ErrNotFound unless owner(o).
func lockOrder(ctx context.Context, tx pgx.Tx, id string, owned func(order.Order) bool) (order.Order, error) {
	o, err := scanOrder(tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !owned(o)) {
		return order.Order{}, fmt.Errorf("order %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return order.Order{}, fmt.Errorf("order %s: %w", id, err)
	}
	return o, nil
}

// Ship records the merchant's shipment of its paid order (fulfilment
// unshipped → shipped) and, in the same transaction, queues its upload to
// WeChat's shipping-info service (see ClaimShipments). An order being
// refunded cannot be shipped. An order already shipped can be shipped
// again only while WeChat refuses its upload: the corrected shipment
// replaces it and is uploaded anew.
func (r *Orders) Ship(ctx context.Context, merchantID, orderID string, sh commerce.Shipment) error {
	sh.Normalize()
	if err := sh.Validate(); err != nil {
		return err
	}
	return r.s.tx(ctx, true, func(tx pgx.Tx) error {
		o, err := lockOrder(ctx, tx, orderID, func(o order.Order) bool { return o.MerchantID == merchantID })
		if err != nil {
			return err
		}
		if !order.CanShip(o.Pay, o.Refund) {
			return fmt.Errorf("order %s is %s with refund %s: %w", orderID, o.Pay, o.Refund, ErrCannotShip)
		}
		if o.Fulfil == order.Shipped {
			return r.reship(ctx, tx, o, sh)
		}
		var group string
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT g.state FROM orders o JOIN buy_groups g ON g.id = o.group_id WHERE o.id = $1), '')`, orderID).Scan(&group); err != nil {
			return err
		}
		if group != "" && group != "succeeded" {
			return fmt.Errorf("order %s: its group is %s: %w", orderID, group, ErrCannotShip)
		}
		if err := presaleShippable(ctx, tx, orderID); err != nil {
			return err
		}
		if err := record(ctx, tx, orderID, order.Transition{Machine: order.Fulfil, From: o.Fulfil, To: order.Shipped, Reason: shipReason(sh)}); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE orders SET tracking_no = $2 WHERE id = $1`, orderID, sh.TrackingNo); err != nil {
			return err
		}
		return r.queueShipment(ctx, tx, o, sh)
	})
}

// ErrCannotShip: the order is not paid, or is being refunded.
var ErrCannotShip = errors.New("order cannot be shipped")

// ErrNoRefundRequest: there is no refund request to decide on, or the
// order cannot be refunded now.
var ErrNoRefundRequest = errors.New("no refund to decide on")

// RequestRefund records the buyer's refund request on a paid order (refund
// none/rejected/failed → requested).
func (r *Orders) RequestRefund(ctx context.Context, userID, orderID, reason string) error {
	return r.s.tx(ctx, true, func(tx pgx.Tx) error {
		o, err := lockOrder(ctx, tx, orderID, func(o order.Order) bool { return o.UserID == userID })
		if err != nil {
			return err
		}
		if !order.CanRequestRefund(o.Pay, o.Refund) {
			return fmt.Errorf("order %s is %s with refund %s: %w", orderID, o.Pay, o.Refund, ErrNoRefundRequest)
		}
		if err := presaleRefundable(ctx, tx, orderID); err != nil {
			return err
		}
		from := o.Refund
		if from == order.RefundFailed {
			// A failed refund is retried by the queue, not asked again.
			return fmt.Errorf("order %s: its refund is being retried: %w", orderID, ErrNoRefundRequest)
		}
		return record(ctx, tx, orderID, order.Transition{Machine: order.Refund, From: from, To: order.Requested, Reason: "buyer: " + reason})
	})
}

// DecideRefund is the merchant's decision on a refund request: approved
// queues a refund of what the order's paid attempt charged (refund
// requested → refunding), rejected ends it (→ rejected).
func (r *Orders) DecideRefund(ctx context.Context, merchantID, orderID string, approve bool, note string) error {
	return r.s.tx(ctx, true, func(tx pgx.Tx) error {
		o, err := lockOrder(ctx, tx, orderID, func(o order.Order) bool { return o.MerchantID == merchantID })
		if err != nil {
			return err
		}
		if o.Refund != order.Requested {
			return fmt.Errorf("order %s refund is %s: %w", orderID, o.Refund, ErrNoRefundRequest)
		}
		if !approve {
			return record(ctx, tx, orderID, order.Transition{Machine: order.Refund, From: order.Requested, To: order.Rejected, Reason: "merchant: " + note})
		}
		var no string
		var amount int64
		err = tx.QueryRow(ctx, `SELECT out_trade_no, amount_fen FROM payment_attempts WHERE order_id = $1 AND state = 'paid' ORDER BY created_at LIMIT 1`, orderID).Scan(&no, &amount)
		if err != nil {
			return fmt.Errorf("order %s paid attempt: %w", orderID, err)
		}
		if err := record(ctx, tx, orderID, order.Transition{Machine: order.Refund, From: order.Requested, To: order.Refunding, Reason: "merchant approved: " + note}); err != nil {
			return err
		}
		return queueRefund(ctx, tx, orderID, no, amount, "merchant approved: "+note)
	})
}
