package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
)

// CreateGroupBuy creates a group-buy activity of the merchant's SKU.
func (s *Store) CreateGroupBuy(ctx context.Context, g commerce.GroupBuy) error {
	if g.ID == "" || g.GroupSize < 2 || g.Window <= 0 || g.PriceFen < 0 || !g.StartsAt.Before(g.EndsAt) {
		return &commerce.FieldError{Field: "group_buy", Reason: "needs an id, a group size of 2 or more, a window, a price and a start before the end"}
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO group_buys (id, merchant_id, sku_id, price_fen, group_size, window_secs, starts_at, ends_at)
		SELECT $1, $2, k.id, $4, $5, $6, $7, $8 FROM skus k JOIN products p ON p.id = k.product_id WHERE k.id = $3 AND p.merchant_id = $2`,
		g.ID, g.MerchantID, g.SKUID, g.PriceFen, g.GroupSize, int(g.Window.Seconds()), g.StartsAt.UTC(), g.EndsAt.UTC())
	if err != nil {
		return fmt.Errorf("group buy %s: %w", g.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("group buy %s: sku %s of merchant %s: %w", g.ID, g.SKUID, g.MerchantID, ErrNotFound)
	}
	return nil
}

// GroupBuy returns a group-buy activity.
func (s *Store) GroupBuy(ctx context.Context, id string) (commerce.GroupBuy, error) {
	var g commerce.GroupBuy
	var secs int
	err := s.pool.QueryRow(ctx, `SELECT id, merchant_id, sku_id, price_fen, group_size, window_secs, starts_at, ends_at FROM group_buys WHERE id = $1`, id).
		Scan(&g.ID, &g.MerchantID, &g.SKUID, &g.PriceFen, &g.GroupSize, &secs, &g.StartsAt, &g.EndsAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return g, fmt.Errorf("group buy %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return g, fmt.Errorf("group buy %s: %w", id, err)
	}
	g.Window = time.Duration(secs) * time.Second
	g.StartsAt, g.EndsAt = g.StartsAt.UTC(), g.EndsAt.UTC()
	return g, nil
}

// SubmitGroup submits a group-buy order: with groupID empty the buyer opens
// a group (its id is returned) and leads it; else the buyer joins that open
// group. The order is one line of the activity's SKU at its price, holds SKU
// stock like any order, and pays like any order; the group succeeds when
// GroupSize members have paid before it expires.
func (r *Orders) SubmitGroup(ctx context.Context, o order.Order, groupBuyID, groupID string) (_ order.Order, group string, created bool, err error) {
	g, err := r.s.GroupBuy(ctx, groupBuyID)
	if err != nil {
		return order.Order{}, "", false, err
	}
	now := time.Now()
	if now.Before(g.StartsAt) {
		return order.Order{}, "", false, fmt.Errorf("group buy %s: %w", groupBuyID, commerce.ErrNotStarted)
	}
	if !now.Before(g.EndsAt) {
		return order.Order{}, "", false, fmt.Errorf("group buy %s: %w", groupBuyID, commerce.ErrEnded)
	}
	if len(o.Lines) != 1 || o.Lines[0].SKUID != g.SKUID || o.Lines[0].UnitFen != g.PriceFen || o.MerchantID != g.MerchantID || len(o.Promotions) > 0 || o.FlashSaleID != "" {
		return order.Order{}, "", false, &commerce.FieldError{Field: "lines", Reason: fmt.Sprintf("a group-buy order is one line of sku %s at %d fen, without promotions", g.SKUID, g.PriceFen)}
	}
	o.ID = order.ID(o.UserID, o.IdempotencyKey)
	if prev, perr := r.Order(ctx, o.ID); perr == nil {
		return prev, r.groupOf(ctx, prev.ID), false, nil
	}
	o.Pay, o.Fulfil, o.Refund = order.Initial[order.Pay], order.Initial[order.Fulfil], order.Initial[order.Refund]
	o.CreatedAt = now.UTC().Truncate(time.Microsecond)
	o.ExpiresAt = o.CreatedAt.Add(r.timeout)
	err = r.s.tx(ctx, true, func(tx pgx.Tx) error {
		if groupID == "" {
			groupID = "g" + o.ID[1:]
			expires := now.Add(g.Window)
			if g.EndsAt.Before(expires) {
				expires = g.EndsAt
			}
			if _, err := tx.Exec(ctx, `INSERT INTO buy_groups (id, group_buy_id, leader_id, expires_at) VALUES ($1, $2, $3, $4)`, groupID, g.ID, o.UserID, expires); err != nil {
				return fmt.Errorf("open group: %w", err)
			}
		} else {
			var state string
			var expires time.Time
			err := tx.QueryRow(ctx, `SELECT state, expires_at FROM buy_groups WHERE id = $1 AND group_buy_id = $2 FOR UPDATE`, groupID, g.ID).Scan(&state, &expires)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("group %s: %w", groupID, ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("group %s: %w", groupID, err)
			}
			if state != "open" || !now.Before(expires) {
				return fmt.Errorf("group %s: %w", groupID, commerce.ErrGroupClosed)
			}
			var members, mine int
			if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE user_id = $2) FROM orders WHERE group_id = $1 AND pay_state <> 'closed'`, groupID, o.UserID).Scan(&members, &mine); err != nil {
				return fmt.Errorf("group %s: %w", groupID, err)
			}
			if mine > 0 {
				return &commerce.FieldError{Field: "group_id", Reason: "you are in this group already"}
			}
			if members >= g.GroupSize {
				return fmt.Errorf("group %s: %w", groupID, commerce.ErrGroupFull)
			}
		}
		if err := r.writeOrder(ctx, tx, o); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE orders SET group_id = $2 WHERE id = $1`, o.ID, groupID); err != nil {
			return err
		}
		return r.s.ReserveTx(ctx, tx, commerce.Hold{OrderID: o.ID, UserID: o.UserID, SKUID: o.Lines[0].SKUID, Quantity: o.Lines[0].Quantity})
	})
	if err != nil {
		return order.Order{}, "", false, err
	}
	return o, groupID, true, nil
}

func (r *Orders) groupOf(ctx context.Context, orderID string) string {
	var g string
	_ = r.s.pool.QueryRow(ctx, `SELECT coalesce(group_id, '') FROM orders WHERE id = $1`, orderID).Scan(&g)
	return g
}

// GroupState returns a group's state (open, succeeded, failed) and its
// paid members.
func (r *Orders) GroupState(ctx context.Context, groupID string) (state string, paid int, err error) {
	err = r.s.pool.QueryRow(ctx, `SELECT g.state, (SELECT count(*) FROM orders o WHERE o.group_id = g.id AND o.pay_state = 'paid') FROM buy_groups g WHERE g.id = $1`, groupID).Scan(&state, &paid)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, fmt.Errorf("group %s: %w", groupID, ErrNotFound)
	}
	return state, paid, err
}

// groupPaid runs in MarkPaid's transaction after a group order was paid
// (the group row locked first): enough paid members make the group
// succeed; a payment into a failed group is refunded at once.
func (r *Orders) groupPaid(ctx context.Context, tx pgx.Tx, o order.Order, groupID string) error {
	var state string
	var size int
	if err := tx.QueryRow(ctx, `SELECT g.state, b.group_size FROM buy_groups g JOIN group_buys b ON b.id = g.group_buy_id WHERE g.id = $1`, groupID).Scan(&state, &size); err != nil {
		return fmt.Errorf("group %s: %w", groupID, err)
	}
	switch state {
	case "failed":
		return r.refundPaidOrder(ctx, tx, o, "group failed before this payment")
	case "open":
		var paid int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM orders WHERE group_id = $1 AND pay_state = 'paid'`, groupID).Scan(&paid); err != nil {
			return err
		}
		if paid >= size {
			_, err := tx.Exec(ctx, `UPDATE buy_groups SET state = 'succeeded' WHERE id = $1`, groupID)
			return err
		}
	}
	return nil
}

// refundPaidOrder queues the full refund of a paid order for reason: a
// member of a failed group, a presale the merchant cancelled, a payment that
// landed after its presale entry closed.
func (r *Orders) refundPaidOrder(ctx context.Context, tx pgx.Tx, o order.Order, reason string) error {
	var no string
	var amount int64
	if err := tx.QueryRow(ctx, `SELECT out_trade_no, amount_fen FROM payment_attempts WHERE order_id = $1 AND state = 'paid' ORDER BY created_at LIMIT 1`, o.ID).Scan(&no, &amount); err != nil {
		return fmt.Errorf("order %s paid attempt: %w", o.ID, err)
	}
	if err := record(ctx, tx, o.ID, order.Transition{Machine: order.Refund, From: o.Refund, To: order.Refunding, Reason: reason}); err != nil {
		return err
	}
	return queueRefund(ctx, tx, o.ID, no, amount, reason)
}

// ExpireGroups fails up to limit open groups whose window is over: every
// paid member's refund is queued. Unpaid members are left to their payment
// timeout (a payment that still lands is refunded by groupPaid).
func (r *Orders) ExpireGroups(ctx context.Context, limit int) (int, error) {
	failed := 0
	for range limit {
		done, err := r.expireOneGroup(ctx)
		if err != nil || !done {
			return failed, err
		}
		failed++
	}
	return failed, nil
}

func (r *Orders) expireOneGroup(ctx context.Context) (bool, error) {
	found := false
	err := r.s.tx(ctx, true, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `SELECT id FROM buy_groups WHERE state = 'open' AND expires_at <= now() ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED`).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("groups: %w", err)
		}
		found = true
		if _, err := tx.Exec(ctx, `UPDATE buy_groups SET state = 'failed' WHERE id = $1`, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+orderColumns+` FROM orders WHERE group_id = $1 AND pay_state = 'paid' ORDER BY id FOR UPDATE`, id)
		if err != nil {
			return err
		}
		members, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (order.Order, error) { return scanOrder(row) })
		if err != nil {
			return err
		}
		for _, o := range members {
			if err := r.refundPaidOrder(ctx, tx, o, "group did not fill in time"); err != nil {
				return err
			}
		}
		return nil
	})
	return found, err
}
