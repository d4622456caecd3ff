package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
)

const presaleColumns = `id, merchant_id, sku_id, price_fen, deposit_fen, deduction_fen, deposit_starts_at, deposit_ends_at,
	balance_starts_at, balance_ends_at, allotment, remaining, per_user_limit, cancelled_at IS NOT NULL`

func scanPresale(row pgx.Row) (commerce.Presale, error) {
	var p commerce.Presale
	err := row.Scan(&p.ID, &p.MerchantID, &p.SKUID, &p.PriceFen, &p.DepositFen, &p.DeductionFen, &p.DepositStartsAt, &p.DepositEndsAt,
		&p.BalanceStartsAt, &p.BalanceEndsAt, &p.Allotment, &p.Remaining, &p.PerUserLimit, &p.Cancelled)
	p.DepositStartsAt, p.DepositEndsAt = p.DepositStartsAt.UTC(), p.DepositEndsAt.UTC()
	p.BalanceStartsAt, p.BalanceEndsAt = p.BalanceStartsAt.UTC(), p.BalanceEndsAt.UTC()
	return p, err
}

// CreatePresale creates a presale of the merchant's SKU with an allotment
// of its own (the SKU's stock is not touched: presale goods are often made
// after the deposits). A SKU of another merchant, or none, is ErrNotFound.
func (s *Store) CreatePresale(ctx context.Context, p commerce.Presale) error {
	if err := p.Validate(); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO presales (id, merchant_id, sku_id, price_fen, deposit_fen, deduction_fen, deposit_starts_at, deposit_ends_at,
			balance_starts_at, balance_ends_at, allotment, remaining, per_user_limit)
		SELECT $1, $2, k.id, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12
		FROM skus k JOIN products p ON p.id = k.product_id WHERE k.id = $3 AND p.merchant_id = $2`,
		p.ID, p.MerchantID, p.SKUID, p.PriceFen, p.DepositFen, p.DeductionFen, p.DepositStartsAt.UTC(), p.DepositEndsAt.UTC(),
		p.BalanceStartsAt.UTC(), p.BalanceEndsAt.UTC(), p.Allotment, p.PerUserLimit)
	if err != nil {
		return fmt.Errorf("presale %s: %w", p.ID, uniqueAsField(err, "presale.id"))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("presale %s: sku %s of merchant %s: %w", p.ID, p.SKUID, p.MerchantID, ErrNotFound)
	}
	return nil
}

// Presale returns a presale with its remaining allotment.
func (s *Store) Presale(ctx context.Context, id string) (commerce.Presale, error) {
	p, err := scanPresale(s.pool.QueryRow(ctx, `SELECT `+presaleColumns+` FROM presales WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("presale %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("presale %s: %w", id, err)
	}
	return p, nil
}

// Presales returns the merchant's presales, newest first.
func (s *Store) Presales(ctx context.Context, merchantID string, limit int) ([]commerce.Presale, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+presaleColumns+` FROM presales WHERE merchant_id = $1 ORDER BY created_at DESC, id LIMIT $2`, merchantID, limit)
	if err != nil {
		return nil, fmt.Errorf("presales of %s: %w", merchantID, err)
	}
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (commerce.Presale, error) { return scanPresale(row) })
	if err != nil {
		return nil, fmt.Errorf("presales of %s: %w", merchantID, err)
	}
	return ps, nil
}

// CancelPresale is the merchant's cancel of its presale: no deposit or
// balance is taken from then on, every entry not forfeited is cancelled, and
// each paid deposit and paid balance is refunded through the refund queue
// (refund none → refunding, ORDER_REFUNDED when WeChat Pay confirms). A
// deposit still unpaid is left to its payment timeout, and refunded if it is
// paid anyway. It is safe to call again (an interrupted cancel finishes).
func (r *Orders) CancelPresale(ctx context.Context, merchantID, presaleID string) error {
	tag, err := r.s.pool.Exec(ctx, `UPDATE presales SET cancelled_at = coalesce(cancelled_at, now()) WHERE id = $1 AND merchant_id = $2`, presaleID, merchantID)
	if err != nil {
		return fmt.Errorf("cancel presale %s: %w", presaleID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("presale %s: %w", presaleID, ErrNotFound)
	}
	// Locks in the order payments and closes take them: orders, then
	// entries, then the presale's row.
	return r.s.tx(ctx, true, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT o.order_id FROM presale_orders o JOIN presale_entries e USING (deposit_order_id)
			WHERE e.presale_id = $1 AND e.state IN ('deposit_unpaid', 'deposit_paid', 'completed') ORDER BY o.order_id`, presaleID)
		if err != nil {
			return fmt.Errorf("presale %s orders: %w", presaleID, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("presale %s orders: %w", presaleID, err)
		}
		locked := make(map[string]order.Order, len(ids))
		for _, id := range ids {
			o, err := lockOrder(ctx, tx, id, func(order.Order) bool { return true })
			if err != nil {
				return err
			}
			locked[id] = o
		}
		entries, err := lockEntries(ctx, tx, `presale_id = $1 AND state IN ('deposit_unpaid', 'deposit_paid', 'completed')`, presaleID)
		if err != nil {
			return err
		}
		for _, e := range entries {
			for _, id := range []string{e.DepositOrderID, e.BalanceOrderID} {
				if o, ok := locked[id]; ok && o.Pay == order.Paid && o.PayFen > 0 && refundable(o.Refund) {
					if err := r.refundPaidOrder(ctx, tx, o, "the merchant cancelled the presale"); err != nil {
						return err
					}
				}
			}
			if err := r.moveEntry(ctx, tx, e, commerce.PresaleCancelled, "the merchant cancelled the presale"); err != nil {
				return err
			}
		}
		return nil
	})
}

// refundable says whether an order's refund machine may start a refund.
func refundable(s order.State) bool { return order.Check(order.Refund, s, order.Refunding) == nil }

// lockEntries locks the entries matching where (arguments args), in
// deposit order id order.
func lockEntries(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]commerce.PresaleEntry, error) {
	rows, err := tx.Query(ctx, `SELECT `+entryColumns+` FROM presale_entries WHERE `+where+` ORDER BY deposit_order_id FOR UPDATE`, args...)
	if err != nil {
		return nil, fmt.Errorf("presale entries: %w", err)
	}
	es, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (commerce.PresaleEntry, error) { return scanEntry(row) })
	if err != nil {
		return nil, fmt.Errorf("presale entries: %w", err)
	}
	return es, nil
}

const entryColumns = `deposit_order_id, presale_id, user_id, quantity, state, coalesce(balance_order_id, '')`

// scanEntry reads entryColumns, then any extra columns into extra.
func scanEntry(row pgx.Row, extra ...any) (commerce.PresaleEntry, error) {
	var e commerce.PresaleEntry
	var st string
	err := row.Scan(append([]any{&e.DepositOrderID, &e.PresaleID, &e.UserID, &e.Quantity, &st, &e.BalanceOrderID}, extra...)...)
	e.State = commerce.PresaleState(st)
	return e, err
}

// moveEntry moves an entry to a new state with its transition row; moving
// to released, forfeited or cancelled gives its units back to the presale's
// allotment and the buyer's count.
func (r *Orders) moveEntry(ctx context.Context, tx pgx.Tx, e commerce.PresaleEntry, to commerce.PresaleState, reason string) error {
	if err := commerce.CheckPresaleMove(e.State, to); err != nil {
		return fmt.Errorf("entry %s: %w", e.DepositOrderID, err)
	}
	tag, err := tx.Exec(ctx, `UPDATE presale_entries SET state = $3, updated_at = now() WHERE deposit_order_id = $1 AND state = $2`, e.DepositOrderID, string(e.State), string(to))
	if err != nil {
		return fmt.Errorf("entry %s: %w", e.DepositOrderID, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("entry %s is not %s: %w", e.DepositOrderID, e.State, commerce.ErrPresaleState)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO presale_transitions (deposit_order_id, from_state, to_state, reason) VALUES ($1, $2, $3, $4)`,
		e.DepositOrderID, string(e.State), string(to), reason); err != nil {
		return fmt.Errorf("entry %s transition: %w", e.DepositOrderID, err)
	}
	if to != commerce.PresaleReleased && to != commerce.DepositForfeited && to != commerce.PresaleCancelled {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE presale_buyers SET quantity = quantity - $3 WHERE presale_id = $1 AND user_id = $2`, e.PresaleID, e.UserID, e.Quantity); err != nil {
		return fmt.Errorf("entry %s release: %w", e.DepositOrderID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE presales SET remaining = remaining + $2 WHERE id = $1`, e.PresaleID, e.Quantity); err != nil {
		return fmt.Errorf("entry %s release: %w", e.DepositOrderID, err)
	}
	return nil
}

// PresaleEntry returns the user's entry named by its deposit order.
func (r *Orders) PresaleEntry(ctx context.Context, userID, depositOrderID string) (commerce.PresaleEntry, error) {
	e, err := scanEntry(r.s.pool.QueryRow(ctx, `SELECT `+entryColumns+` FROM presale_entries WHERE deposit_order_id = $1`, depositOrderID))
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && e.UserID != userID) {
		return commerce.PresaleEntry{}, fmt.Errorf("presale entry %s: %w", depositOrderID, ErrNotFound)
	}
	if err != nil {
		return commerce.PresaleEntry{}, fmt.Errorf("presale entry %s: %w", depositOrderID, err)
	}
	return e, nil
}

// ExpirePresales forfeits up to limit entries whose balance window is over
// with the balance unpaid: the deposit is kept, the units go back to the
// allotment. An entry whose balance order is still unpaid waits for that
// order's own timeout (a payment that was made in time is still being
// notified or queried), so the one that comes first decides. Entries are
// claimed with FOR UPDATE SKIP LOCKED, so several processes share them.
func (r *Orders) ExpirePresales(ctx context.Context, limit int) (int, error) {
	forfeited := 0
	for range limit {
		found := false
		err := r.s.tx(ctx, true, func(tx pgx.Tx) error {
			e, err := scanEntry(tx.QueryRow(ctx, `
				SELECT `+entryColumns+` FROM presale_entries e
				WHERE e.state = 'deposit_paid'
				  AND e.presale_id IN (SELECT id FROM presales WHERE balance_ends_at <= now() AND cancelled_at IS NULL)
				  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = e.balance_order_id AND o.pay_state = 'unpaid')
				ORDER BY e.deposit_order_id LIMIT 1 FOR UPDATE OF e SKIP LOCKED`))
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("presale entries due: %w", err)
			}
			found = true
			return r.moveEntry(ctx, tx, e, commerce.DepositForfeited, "balance not paid by the end of its window")
		})
		if err != nil || !found {
			return forfeited, err
		}
		forfeited++
	}
	return forfeited, nil
}

// presaleOrderClosed runs in the transaction that closes an unpaid order,
// under its row lock: a deposit order's entry is released (its units go back).
func (r *Orders) presaleOrderClosed(ctx context.Context, tx pgx.Tx, orderID string) error {
	e, kind, err := lockEntryOf(ctx, tx, orderID)
	if err != nil || kind != "deposit" || e.State != commerce.DepositUnpaid {
		return err
	}
	return r.moveEntry(ctx, tx, e, commerce.PresaleReleased, "deposit not paid in time")
}

// presalePaid runs in MarkPaid's transaction after an order was paid: a
// deposit moves its entry to deposit_paid, the entry's current balance
// order completes it; money for an entry that was cancelled, forfeited or
// completed otherwise is refunded at once.
func (r *Orders) presalePaid(ctx context.Context, tx pgx.Tx, o order.Order) error {
	e, kind, err := lockEntryOf(ctx, tx, o.ID)
	if err != nil || kind == "" {
		return err
	}
	switch {
	case kind == "deposit" && e.State == commerce.DepositUnpaid:
		return r.moveEntry(ctx, tx, e, commerce.DepositPaid, "deposit paid")
	case kind == "balance" && e.State == commerce.DepositPaid && e.BalanceOrderID == o.ID:
		return r.moveEntry(ctx, tx, e, commerce.PresaleCompleted, "balance paid")
	}
	return r.refundPaidOrder(ctx, tx, o, fmt.Sprintf("presale %s entry is %s", kind, e.State))
}

// lockEntryOf locks the entry of a presale order; kind is "" for an order
// of no presale.
func lockEntryOf(ctx context.Context, tx pgx.Tx, orderID string) (commerce.PresaleEntry, string, error) {
	var kind string
	e, err := scanEntry(tx.QueryRow(ctx, `
		SELECT e.deposit_order_id, e.presale_id, e.user_id, e.quantity, e.state, coalesce(e.balance_order_id, ''), p.kind
		FROM presale_orders p JOIN presale_entries e USING (deposit_order_id) WHERE p.order_id = $1 FOR UPDATE OF e`, orderID), &kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, "", nil
	}
	if err != nil {
		return e, "", fmt.Errorf("presale entry of %s: %w", orderID, err)
	}
	return e, kind, nil
}

// presaleOrderKind is "deposit" or "balance" for an order of a presale,
// "" for any other order.
func presaleOrderKind(ctx context.Context, tx pgx.Tx, orderID string) (string, error) {
	var kind string
	err := tx.QueryRow(ctx, `SELECT kind FROM presale_orders WHERE order_id = $1`, orderID).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("order %s presale: %w", orderID, err)
	}
	return kind, nil
}

// presaleShippable refuses to ship a deposit order: the goods ship with
// the balance order.
func presaleShippable(ctx context.Context, tx pgx.Tx, orderID string) error {
	kind, err := presaleOrderKind(ctx, tx, orderID)
	if err != nil || kind != "deposit" {
		return err
	}
	return fmt.Errorf("order %s is a presale deposit; ship its balance order: %w", orderID, ErrCannotShip)
}

// presaleRefundable refuses a buyer's refund request of a deposit: it is
// forfeited if the balance is not paid, refunded if the merchant cancels.
func presaleRefundable(ctx context.Context, tx pgx.Tx, orderID string) error {
	kind, err := presaleOrderKind(ctx, tx, orderID)
	if err != nil || kind != "deposit" {
		return err
	}
	return fmt.Errorf("order %s is a presale deposit: it is refunded only if the merchant cancels the presale: %w", orderID, ErrNoRefundRequest)
}

// uniqueAsField turns a unique violation (an id taken) into a FieldError.
func uniqueAsField(err error, field string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return &commerce.FieldError{Field: field, Reason: "is taken"}
	}
	return err
}
