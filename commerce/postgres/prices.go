package postgres

import (
	"context"
	"fmt"
)

// ProductPrices returns every product's card price in fen (products.price_fen),
// by product id, from one snapshot. Off-shelf products are included: a
// viewer's past clicks on them still say what the viewer pays.
func (s *Store) ProductPrices(ctx context.Context) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, price_fen FROM products`)
	if err != nil {
		return nil, fmt.Errorf("product prices: %w", err)
	}
	defer rows.Close()
	prices := map[string]int64{}
	for rows.Next() {
		var id string
		var fen int64
		if err := rows.Scan(&id, &fen); err != nil {
			return nil, fmt.Errorf("product prices: %w", err)
		}
		prices[id] = fen
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("product prices: %w", err)
	}
	return prices, nil
}
