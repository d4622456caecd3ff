package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/commerce"
)

// CartItem is a SKU in a user's cart.
type CartItem struct {
	SKUID    string
	Quantity int64
}

// SetCartItem sets the quantity of a SKU in the user's cart; 0 removes it.
func (s *Store) SetCartItem(ctx context.Context, userID, skuID string, quantity int64) error {
	if quantity < 0 || quantity > 999 {
		return &commerce.FieldError{Field: "quantity", Reason: fmt.Sprintf("%d is not in 0..999", quantity)}
	}
	if quantity == 0 {
		_, err := s.pool.Exec(ctx, `DELETE FROM cart_items WHERE user_id = $1 AND sku_id = $2`, userID, skuID)
		return err
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT true FROM skus WHERE id = $1`, skuID).Scan(&exists); err != nil {
		return fmt.Errorf("sku %s: %w", skuID, ErrNotFound)
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO cart_items (user_id, sku_id, quantity) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, sku_id) DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()`, userID, skuID, quantity)
	if err != nil {
		return fmt.Errorf("cart of %s: %w", userID, err)
	}
	return nil
}

// Cart returns the user's cart, most recently changed first.
func (s *Store) Cart(ctx context.Context, userID string) ([]CartItem, error) {
	rows, err := s.pool.Query(ctx, `SELECT sku_id, quantity FROM cart_items WHERE user_id = $1 ORDER BY updated_at DESC, sku_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("cart of %s: %w", userID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CartItem, error) {
		var c CartItem
		err := r.Scan(&c.SKUID, &c.Quantity)
		return c, err
	})
}

// SKUOffer is what a SKU sells for now, with its product and merchant.
type SKUOffer struct {
	SKUID      string
	ProductID  string
	MerchantID string
	PriceFen   int64
	Stock      int64
	OnShelf    bool
}

// SKUOffers returns the current price and owner of each SKU id found.
func (s *Store) SKUOffers(ctx context.Context, skuIDs []string) (map[string]SKUOffer, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT k.id, k.product_id, p.merchant_id, k.price_fen, k.stock, p.status = 'on'
		FROM skus k JOIN products p ON p.id = k.product_id WHERE k.id = ANY($1)`, skuIDs)
	if err != nil {
		return nil, fmt.Errorf("sku offers: %w", err)
	}
	defer rows.Close()
	out := make(map[string]SKUOffer, len(skuIDs))
	for rows.Next() {
		var o SKUOffer
		if err := rows.Scan(&o.SKUID, &o.ProductID, &o.MerchantID, &o.PriceFen, &o.Stock, &o.OnShelf); err != nil {
			return nil, fmt.Errorf("sku offers: %w", err)
		}
		out[o.SKUID] = o
	}
	return out, rows.Err()
}
