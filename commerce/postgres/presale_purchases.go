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

// purchaseColumns are entryColumns of presale_entries e, then the deposit
// order d's amount and pay state, the balance order b's pay state (” for
// none) and the entry's created_at.
const purchaseColumns = `e.deposit_order_id, e.presale_id, e.user_id, e.quantity, e.state, coalesce(e.balance_order_id, ''),
	d.pay_fen, d.pay_state, coalesce(b.pay_state, ''), e.created_at`

const purchaseFrom = ` FROM presale_entries e JOIN orders d ON d.id = e.deposit_order_id LEFT JOIN orders b ON b.id = e.balance_order_id`

// PresalePurchases returns the user's presale purchases, newest first:
// f.UserID's entries created before f.Before (zero: now), at most f.Limit
// (default 20, at most 100), each with its presale and what is still to pay.
func (r *Orders) PresalePurchases(ctx context.Context, f ListFilter) ([]commerce.PresalePurchase, error) {
	if f.UserID == "" || f.MerchantID != "" {
		return nil, errors.New("presale purchases: list by a user")
	}
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	if f.Before.IsZero() {
		f.Before = time.Now().Add(time.Second)
	}
	rows, err := r.s.pool.Query(ctx, `SELECT `+purchaseColumns+purchaseFrom+`
		WHERE e.user_id = $1 AND e.created_at < $2 ORDER BY e.created_at DESC, e.deposit_order_id LIMIT $3`, f.UserID, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("presale purchases of %s: %w", f.UserID, err)
	}
	return r.purchases(ctx, rows)
}

// PresalePurchase returns the user's purchase named by its deposit order;
// another user's is ErrNotFound.
func (r *Orders) PresalePurchase(ctx context.Context, userID, depositOrderID string) (commerce.PresalePurchase, error) {
	rows, err := r.s.pool.Query(ctx, `SELECT `+purchaseColumns+purchaseFrom+` WHERE e.deposit_order_id = $1 AND e.user_id = $2`, depositOrderID, userID)
	if err != nil {
		return commerce.PresalePurchase{}, fmt.Errorf("presale purchase %s: %w", depositOrderID, err)
	}
	ps, err := r.purchases(ctx, rows)
	if err != nil {
		return commerce.PresalePurchase{}, err
	}
	if len(ps) == 0 {
		return commerce.PresalePurchase{}, fmt.Errorf("presale purchase %s: %w", depositOrderID, ErrNotFound)
	}
	return ps[0], nil
}

// purchases reads rows of purchaseColumns and prices each with its presale.
func (r *Orders) purchases(ctx context.Context, rows pgx.Rows) ([]commerce.PresalePurchase, error) {
	type row struct {
		e            commerce.PresaleEntry
		depositFen   int64
		deposit, bal string
		at           time.Time
	}
	rs, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (row, error) {
		var x row
		e, err := scanEntry(cr, &x.depositFen, &x.deposit, &x.bal, &x.at)
		x.e = e
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("presale purchases: %w", err)
	}
	presales := map[string]commerce.Presale{}
	out := make([]commerce.PresalePurchase, 0, len(rs))
	for _, x := range rs {
		p, ok := presales[x.e.PresaleID]
		if !ok {
			if p, err = r.s.Presale(ctx, x.e.PresaleID); err != nil {
				return nil, err
			}
			presales[p.ID] = p
		}
		pp, err := commerce.NewPresalePurchase(p, x.e, x.depositFen, order.State(x.deposit) == order.Paid, order.State(x.bal) == order.Paid)
		if err != nil {
			return nil, err
		}
		pp.CreatedAt = x.at.UTC()
		out = append(out, pp)
	}
	return out, nil
}
