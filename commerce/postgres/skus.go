package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tide-live/tide/commerce"
)

// PutSKUs replaces the SKUs of a product with skus (their ProductID is set
// to productID). SKUs are not part of the product's content hash: stock
// moves without publishing product changes.
func (s *Store) PutSKUs(ctx context.Context, productID string, skus []commerce.SKU) error {
	return s.tx(ctx, true, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT true FROM products WHERE id = $1 FOR UPDATE`, productID).Scan(&exists); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("product %s: %w", productID, ErrNotFound)
			}
			return fmt.Errorf("product %s: %w", productID, err)
		}
		return putSKUsTx(ctx, tx, productID, skus)
	})
}

// putSKUsTx replaces the SKUs of a product that exists in tx. Their stock
// is set to the given numbers (what is for sale now, holds excluded).
func putSKUsTx(ctx context.Context, tx pgx.Tx, productID string, skus []commerce.SKU) error {
	ids := make([]string, len(skus))
	for i, k := range skus {
		if k.ID == "" || k.PriceFen < 0 || k.Stock < 0 {
			return fmt.Errorf("sku %d of %s: %w", i, productID, &commerce.FieldError{Field: "sku", Reason: "needs an id, a price and stock that are not negative"})
		}
		ids[i] = k.ID
	}
	if _, err := tx.Exec(ctx, `DELETE FROM skus WHERE product_id = $1 AND NOT (id = ANY($2))`, productID, ids); err != nil {
		return fmt.Errorf("put skus of %s: %w", productID, err)
	}
	b := &pgx.Batch{}
	for _, k := range skus {
		spec, err := json.Marshal(k.Spec)
		if err != nil {
			return fmt.Errorf("sku %s spec: %w", k.ID, err)
		}
		if k.Spec == nil {
			spec = []byte("{}")
		}
		b.Queue(`
			INSERT INTO skus (id, product_id, spec, price_fen, stock) VALUES ($1, $2, $3::jsonb, $4, $5)
			ON CONFLICT (id) DO UPDATE SET product_id = EXCLUDED.product_id, spec = EXCLUDED.spec,
				price_fen = EXCLUDED.price_fen, stock = EXCLUDED.stock, updated_at = now()
			WHERE skus.product_id = EXCLUDED.product_id`,
			k.ID, productID, string(spec), k.PriceFen, k.Stock).Exec(func(ct pgconn.CommandTag) error {
			if ct.RowsAffected() == 0 {
				return &commerce.FieldError{Field: "skus.id", Reason: fmt.Sprintf("%q is the id of another product's SKU", k.ID)}
			}
			return nil
		})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("put skus of %s: %w", productID, err)
	}
	return nil
}

// SKUs returns the SKUs of a product, in id order.
func (s *Store) SKUs(ctx context.Context, productID string) ([]commerce.SKU, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, product_id, spec, price_fen, stock FROM skus WHERE product_id = $1 ORDER BY id`, productID)
	if err != nil {
		return nil, fmt.Errorf("skus of %s: %w", productID, err)
	}
	defer rows.Close()
	var out []commerce.SKU
	for rows.Next() {
		var (
			k    commerce.SKU
			spec []byte
		)
		if err := rows.Scan(&k.ID, &k.ProductID, &spec, &k.PriceFen, &k.Stock); err != nil {
			return nil, fmt.Errorf("skus of %s: %w", productID, err)
		}
		if err := json.Unmarshal(spec, &k.Spec); err != nil {
			return nil, fmt.Errorf("sku %s spec: %w", k.ID, err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
