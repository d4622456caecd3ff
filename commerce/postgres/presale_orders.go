package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/pricing"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// PresaleBuy is a buyer's deposit submit: quantity units of a presale.
type PresaleBuy struct {
	UserID         string
	RoomID         string
	IdempotencyKey string
	PresaleID      string
	Quantity       int64
}

// SubmitDeposit creates the deposit order of a presale — one line of the
// SKU at the deposit per unit, no promotions — and, in the same
// transaction, takes its units out of the presale's allotment (a
// conditional UPDATE: concurrent deposits never take more than the
// allotment) and counts them against the buyer's limit (a CHECK). The order
// pays like any order (OpenAttempt, WeChat Pay) until the earlier of its
// payment timeout and the end of the deposit window; unpaid, it closes and
// the units return. The same idempotency key returns the same order.
func (r *Orders) SubmitDeposit(ctx context.Context, b PresaleBuy) (_ order.Order, created bool, err error) {
	if b.UserID == "" || b.IdempotencyKey == "" {
		return order.Order{}, false, &commerce.FieldError{Field: "order", Reason: "needs a user and an idempotency key"}
	}
	id := order.ID(b.UserID, b.IdempotencyKey)
	if prev, perr := r.Order(ctx, id); perr == nil {
		return prev, false, nil
	}
	p, err := r.s.Presale(ctx, b.PresaleID)
	if err != nil {
		return order.Order{}, false, err
	}
	now := time.Now()
	if err := p.DepositOpen(now); err != nil {
		return order.Order{}, false, fmt.Errorf("presale %s deposit: %w", p.ID, err)
	}
	q, err := pricing.PresaleDeposit(p.SKUID, p.DepositFen, b.Quantity)
	if err != nil {
		return order.Order{}, false, err
	}
	o, err := r.presaleOrder(ctx, b.UserID, b.RoomID, b.IdempotencyKey, p, q, now, p.DepositEndsAt)
	if err != nil {
		return order.Order{}, false, err
	}
	err = r.s.tx(ctx, true, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE presales SET remaining = remaining - $2
			WHERE id = $1 AND remaining >= $2 AND cancelled_at IS NULL AND deposit_starts_at <= now() AND deposit_ends_at > now()`, p.ID, b.Quantity)
		if err != nil {
			return fmt.Errorf("presale %s allotment: %w", p.ID, err)
		}
		if tag.RowsAffected() != 1 {
			if cur, err := scanPresale(tx.QueryRow(ctx, `SELECT `+presaleColumns+` FROM presales WHERE id = $1`, p.ID)); err == nil {
				if err := cur.DepositOpen(time.Now()); err != nil {
					return fmt.Errorf("presale %s deposit: %w", p.ID, err)
				}
			}
			return fmt.Errorf("presale %s: %d units: %w", p.ID, b.Quantity, commerce.ErrSoldOut)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO presale_buyers (presale_id, user_id, quantity, per_user_limit) VALUES ($1, $2, $3, $4)
			ON CONFLICT (presale_id, user_id) DO UPDATE SET quantity = presale_buyers.quantity + EXCLUDED.quantity`,
			p.ID, b.UserID, b.Quantity, p.PerUserLimit); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.ConstraintName == "presale_buyers_limit" {
				return fmt.Errorf("presale %s: %d units more for %s: %w", p.ID, b.Quantity, b.UserID, commerce.ErrLimitReached)
			}
			return fmt.Errorf("presale %s buyer: %w", p.ID, err)
		}
		if err := r.writeOrder(ctx, tx, o); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			WITH e AS (INSERT INTO presale_entries (deposit_order_id, presale_id, user_id, quantity, state) VALUES ($1, $2, $3, $4, 'deposit_unpaid') RETURNING deposit_order_id),
			t AS (INSERT INTO presale_transitions (deposit_order_id, from_state, to_state, reason) SELECT deposit_order_id, '', 'deposit_unpaid', 'deposit submitted' FROM e)
			INSERT INTO presale_orders (order_id, deposit_order_id, kind) SELECT deposit_order_id, deposit_order_id, 'deposit' FROM e`,
			o.ID, p.ID, b.UserID, b.Quantity); err != nil {
			return fmt.Errorf("presale %s entry: %w", p.ID, err)
		}
		return nil
	})
	if err != nil {
		// A concurrent submit with the same key won: return its order.
		if prev, perr := r.Order(ctx, o.ID); perr == nil {
			return prev, false, nil
		}
		return order.Order{}, false, err
	}
	return o, true, nil
}

// presaleOrder builds a presale order of quote q, due at the earlier of the
// payment timeout and the window's end.
func (r *Orders) presaleOrder(ctx context.Context, userID, roomID, key string, p commerce.Presale, q pricing.Quote, now time.Time, windowEnds time.Time) (order.Order, error) {
	var product string
	if err := r.s.pool.QueryRow(ctx, `SELECT product_id FROM skus WHERE id = $1`, p.SKUID).Scan(&product); err != nil {
		return order.Order{}, fmt.Errorf("presale %s sku %s: %w", p.ID, p.SKUID, err)
	}
	l := q.Lines[0]
	o := order.Order{
		ID: order.ID(userID, key), UserID: userID, MerchantID: p.MerchantID, RoomID: roomID, IdempotencyKey: key,
		Lines:    []order.Line{{ProductID: product, SKUID: l.SKUID, UnitFen: l.UnitFen, Quantity: l.Quantity, TotalFen: l.TotalFen, DiscountFen: l.DiscountFen, PayFen: l.PayFen}},
		TotalFen: q.TotalFen, DiscountFen: q.DiscountFen, PayFen: q.PayFen,
		Pay: order.Initial[order.Pay], Fulfil: order.Initial[order.Fulfil], Refund: order.Initial[order.Refund],
		CreatedAt: now.UTC().Truncate(time.Microsecond),
	}
	o.ExpiresAt = o.CreatedAt.Add(r.timeout)
	if windowEnds.Before(o.ExpiresAt) {
		o.ExpiresAt = windowEnds.UTC()
	}
	return o, nil
}

// SubmitBalance creates the balance order of the user's entry (named by its
// deposit order) in the presale's balance window: one line of the SKU at
// the presale price less the 定金膨胀 deduction (pricing.PresaleBalance, no
// promotions). It pays like any order until the earlier of its payment
// timeout and the window's end; paid, the entry is completed and the
// balance order is what ships. A balance of 0 (the deduction covers the
// price) is paid at once. While the entry's balance order is unpaid, every
// submit returns it (created=false); a closed one is replaced.
func (r *Orders) SubmitBalance(ctx context.Context, userID, depositOrderID, roomID, key string) (_ order.Order, created bool, err error) {
	if key == "" || order.ID(userID, key) == depositOrderID {
		return order.Order{}, false, &commerce.FieldError{Field: "idempotency_key", Reason: "needs a key of its own (not empty, not the deposit's)"}
	}
	e, err := r.PresaleEntry(ctx, userID, depositOrderID)
	if err != nil {
		return order.Order{}, false, err
	}
	p, err := r.s.Presale(ctx, e.PresaleID)
	if err != nil {
		return order.Order{}, false, err
	}
	now := time.Now()
	if err := p.BalanceOpen(now); err != nil {
		return order.Order{}, false, fmt.Errorf("presale %s balance: %w", p.ID, err)
	}
	q, err := pricing.PresaleBalance(p.SKUID, p.PriceFen, p.DepositFen, p.DeductionFen, e.Quantity)
	if err != nil {
		return order.Order{}, false, err
	}
	o, err := r.presaleOrder(ctx, userID, roomID, key, p, q, now, p.BalanceEndsAt)
	if err != nil {
		return order.Order{}, false, err
	}
	var prev string
	err = r.s.tx(ctx, true, func(tx pgx.Tx) error {
		locked, err := lockEntries(ctx, tx, `deposit_order_id = $1`, depositOrderID)
		if err != nil {
			return err
		}
		e = locked[0]
		if e.BalanceOrderID != "" {
			var pay string
			if err := tx.QueryRow(ctx, `SELECT pay_state FROM orders WHERE id = $1`, e.BalanceOrderID).Scan(&pay); err != nil {
				return fmt.Errorf("balance order %s: %w", e.BalanceOrderID, err)
			}
			if order.State(pay) != order.Closed {
				prev = e.BalanceOrderID
				return nil
			}
		}
		if e.State != commerce.DepositPaid {
			return fmt.Errorf("entry %s is %s, not deposit_paid: %w", e.DepositOrderID, e.State, commerce.ErrPresaleState)
		}
		if err := r.writeOrder(ctx, tx, o); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			WITH b AS (INSERT INTO presale_orders (order_id, deposit_order_id, kind) VALUES ($1, $2, 'balance') RETURNING order_id)
			UPDATE presale_entries SET balance_order_id = (SELECT order_id FROM b), updated_at = now() WHERE deposit_order_id = $2`, o.ID, e.DepositOrderID); err != nil {
			return fmt.Errorf("entry %s balance: %w", e.DepositOrderID, err)
		}
		if o.PayFen > 0 {
			return nil
		}
		e.BalanceOrderID = o.ID
		return r.payNothing(ctx, tx, &o, e)
	})
	if prev != "" {
		po, err := r.Order(ctx, prev)
		return po, false, err
	}
	if err != nil {
		if po, perr := r.Order(ctx, o.ID); perr == nil {
			return po, false, nil
		}
		return order.Order{}, false, err
	}
	return o, true, nil
}

// payNothing marks a balance order of 0 fen paid in its submit
// transaction (there is nothing to pay through WeChat Pay) and completes the
// entry.
func (r *Orders) payNothing(ctx context.Context, tx pgx.Tx, o *order.Order, e commerce.PresaleEntry) error {
	if err := record(ctx, tx, o.ID, order.Transition{Machine: order.Pay, From: order.Unpaid, To: order.Paid, Reason: "balance of 0: the deduction covers the price"}); err != nil {
		return err
	}
	o.Pay, o.PaidAt = order.Paid, o.CreatedAt
	if _, err := tx.Exec(ctx, `UPDATE orders SET paid_at = $2 WHERE id = $1`, o.ID, o.PaidAt); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM order_timers WHERE order_id = $1`, o.ID); err != nil {
		return err
	}
	if err := r.events(ctx, tx, orderEvent(*o, tidev1.EventType_EVENT_TYPE_ORDER_PAID)); err != nil {
		return err
	}
	return r.moveEntry(ctx, tx, e, commerce.PresaleCompleted, "balance of 0")
}
