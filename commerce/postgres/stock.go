package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tide-live/tide/commerce"
)

// Reserve holds units of SKU stock for an order (holds without a
// FlashSaleID; use a FlashSeller for flash sales), all or nothing, in one
// transaction.
func (s *Store) Reserve(ctx context.Context, holds ...commerce.Hold) error {
	return s.tx(ctx, true, func(tx pgx.Tx) error { return s.ReserveTx(ctx, tx, holds...) })
}

// ReserveTx is Reserve inside the caller's transaction (the one that creates
// the order). Each SKU is decremented with its own conditional UPDATE and
// its own rows-affected check (one UPDATE over several SKUs reports success
// when one of them lacked stock: newbee-mall-api#6), in SKU id order so that
// concurrent orders cannot deadlock. It fails with commerce.ErrOutOfStock or
// commerce.ErrAlreadyHeld; the caller's transaction must then roll back.
func (s *Store) ReserveTx(ctx context.Context, tx pgx.Tx, holds ...commerce.Hold) error {
	hs := append([]commerce.Hold(nil), holds...)
	sort.Slice(hs, func(i, j int) bool { return hs[i].SKUID < hs[j].SKUID })
	for _, h := range hs {
		if h.FlashSaleID != "" || h.Quantity <= 0 || h.OrderID == "" || h.SKUID == "" {
			return &commerce.FieldError{Field: "hold", Reason: fmt.Sprintf("%+v: needs an order, a sku, a positive quantity and no flash sale", h)}
		}
		tag, err := tx.Exec(ctx, `UPDATE skus SET stock = stock - $2, updated_at = now() WHERE id = $1 AND stock >= $2`, h.SKUID, h.Quantity)
		if err != nil {
			return fmt.Errorf("reserve %s: %w", h.SKUID, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("reserve %d of %s: %w", h.Quantity, h.SKUID, commerce.ErrOutOfStock)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO stock_reservations (order_id, sku_id, user_id, quantity) VALUES ($1, $2, $3, $4)`,
			h.OrderID, h.SKUID, h.UserID, h.Quantity); err != nil {
			return holdError(h, err)
		}
	}
	return nil
}

// holdError maps a failed reservation insert.
func holdError(h commerce.Hold, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("order %s, sku %s: %w", h.OrderID, h.SKUID, commerce.ErrAlreadyHeld)
	}
	return fmt.Errorf("hold %s for order %s: %w", h.SKUID, h.OrderID, err)
}

// ReleaseTx gives back every unit order still holds — to the SKU's stock or
// to its flash sale's allotment and the buyer's per-user count — and returns
// the holds it released. Holds already sold or released are left alone, so
// releasing twice gives nothing back twice.
func (s *Store) ReleaseTx(ctx context.Context, tx pgx.Tx, orderID string) ([]commerce.Hold, error) {
	rows, err := tx.Query(ctx, `
		UPDATE stock_reservations SET state = 'released', updated_at = now()
		WHERE order_id = $1 AND state = 'held'
		RETURNING order_id, user_id, sku_id, coalesce(flash_sale_id, ''), quantity`, orderID)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", orderID, err)
	}
	hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (commerce.Hold, error) {
		var h commerce.Hold
		err := r.Scan(&h.OrderID, &h.UserID, &h.SKUID, &h.FlashSaleID, &h.Quantity)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", orderID, err)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].SKUID < hs[j].SKUID })
	for _, h := range hs {
		if h.FlashSaleID == "" {
			_, err = tx.Exec(ctx, `UPDATE skus SET stock = stock + $2, updated_at = now() WHERE id = $1`, h.SKUID, h.Quantity)
		} else {
			_, err = tx.Exec(ctx, `UPDATE flash_sale_buyers SET quantity = quantity - $3 WHERE sale_id = $1 AND user_id = $2`, h.FlashSaleID, h.UserID, h.Quantity)
			if err == nil {
				_, err = tx.Exec(ctx, `UPDATE flash_sales SET remaining = remaining + $2 WHERE id = $1`, h.FlashSaleID, h.Quantity)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("release %s of order %s: %w", h.SKUID, orderID, err)
		}
	}
	return hs, nil
}

// Release is ReleaseTx in a transaction of its own.
func (s *Store) Release(ctx context.Context, orderID string) (hs []commerce.Hold, err error) {
	err = s.tx(ctx, true, func(tx pgx.Tx) error {
		hs, err = s.ReleaseTx(ctx, tx, orderID)
		return err
	})
	return hs, err
}

// SellTx turns the order's held units into sold ones (the order was paid)
// and reports how many holds it changed; 0 means there was nothing held —
// the order was released, or sold before.
func (s *Store) SellTx(ctx context.Context, tx pgx.Tx, orderID string) (int64, error) {
	tag, err := tx.Exec(ctx, `UPDATE stock_reservations SET state = 'sold', updated_at = now() WHERE order_id = $1 AND state = 'held'`, orderID)
	if err != nil {
		return 0, fmt.Errorf("sell %s: %w", orderID, err)
	}
	return tag.RowsAffected(), nil
}

// Holds returns the order's holds and their states.
func (s *Store) Holds(ctx context.Context, orderID string) (map[commerce.Hold]commerce.HoldState, error) {
	rows, err := s.pool.Query(ctx, `SELECT order_id, user_id, sku_id, coalesce(flash_sale_id, ''), quantity, state FROM stock_reservations WHERE order_id = $1`, orderID)
	if err != nil {
		return nil, fmt.Errorf("holds of %s: %w", orderID, err)
	}
	defer rows.Close()
	out := map[commerce.Hold]commerce.HoldState{}
	for rows.Next() {
		var (
			h  commerce.Hold
			st string
		)
		if err := rows.Scan(&h.OrderID, &h.UserID, &h.SKUID, &h.FlashSaleID, &h.Quantity, &st); err != nil {
			return nil, fmt.Errorf("holds of %s: %w", orderID, err)
		}
		out[h] = commerce.HoldState(st)
	}
	return out, rows.Err()
}
