package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/pricing"
)

// ErrNotYours: the SKU, promotion or activity belongs to another merchant.
var ErrNotYours = errors.New("belongs to another merchant")

// CheckSKUOwner says whether the merchant sells sku: ErrNotFound when no
// such SKU exists, ErrNotYours when another merchant sells it.
func (s *Store) CheckSKUOwner(ctx context.Context, merchantID, skuID string) error {
	var owner string
	err := s.pool.QueryRow(ctx, `SELECT p.merchant_id FROM skus k JOIN products p ON p.id = k.product_id WHERE k.id = $1`, skuID).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("sku %s: %w", skuID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sku %s: %w", skuID, err)
	}
	if owner != merchantID {
		return fmt.Errorf("sku %s: %w", skuID, ErrNotYours)
	}
	return nil
}

// FlashSales returns the merchant's flash sales, newest first.
func (s *Store) FlashSales(ctx context.Context, merchantID string, limit int) ([]commerce.FlashSale, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, merchant_id, sku_id, price_fen, starts_at, ends_at, allotment, remaining, per_user_limit
		FROM flash_sales WHERE merchant_id = $1 ORDER BY created_at DESC, id LIMIT $2`, merchantID, limit)
	if err != nil {
		return nil, fmt.Errorf("flash sales of %s: %w", merchantID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (commerce.FlashSale, error) {
		var f commerce.FlashSale
		err := r.Scan(&f.ID, &f.MerchantID, &f.SKUID, &f.PriceFen, &f.StartsAt, &f.EndsAt, &f.Allotment, &f.Remaining, &f.PerUserLimit)
		f.StartsAt, f.EndsAt = f.StartsAt.UTC(), f.EndsAt.UTC()
		return f, err
	})
}

// GroupBuys returns the merchant's group buys, newest first.
func (s *Store) GroupBuys(ctx context.Context, merchantID string, limit int) ([]commerce.GroupBuy, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, merchant_id, sku_id, price_fen, group_size, window_secs, starts_at, ends_at
		FROM group_buys WHERE merchant_id = $1 ORDER BY starts_at DESC, id LIMIT $2`, merchantID, limit)
	if err != nil {
		return nil, fmt.Errorf("group buys of %s: %w", merchantID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (commerce.GroupBuy, error) {
		var g commerce.GroupBuy
		var secs int
		err := r.Scan(&g.ID, &g.MerchantID, &g.SKUID, &g.PriceFen, &g.GroupSize, &secs, &g.StartsAt, &g.EndsAt)
		g.Window = time.Duration(secs) * time.Second
		g.StartsAt, g.EndsAt = g.StartsAt.UTC(), g.EndsAt.UTC()
		return g, err
	})
}

// EndFlashSale ends the merchant's flash sale now: its unsold allotment
// goes back to the SKU's stock and its remaining becomes 0, so that every
// process's next hold fails sold out (PostgreSQL's CHECK, whatever a
// seller's cached window says); units released later by unpaid orders
// return to the sale, which has ended. Ending an ended sale changes nothing.
func (s *Store) EndFlashSale(ctx context.Context, merchantID, id string) error {
	return s.tx(ctx, true, func(tx pgx.Tx) error {
		var sku string
		var remaining int64
		err := tx.QueryRow(ctx, `SELECT sku_id, remaining FROM flash_sales WHERE id = $1 AND merchant_id = $2 FOR UPDATE`, id, merchantID).Scan(&sku, &remaining)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("flash sale %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("flash sale %s: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE flash_sales SET remaining = 0, ends_at = least(ends_at, greatest(starts_at + interval '1 microsecond', now())) WHERE id = $1`, id); err != nil {
			return fmt.Errorf("end flash sale %s: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE skus SET stock = stock + $2, updated_at = now() WHERE id = $1`, sku, remaining); err != nil {
			return fmt.Errorf("end flash sale %s: %w", id, err)
		}
		return nil
	})
}

// EndGroupBuy ends the merchant's group buy now: no group opens or is
// joined from then on; open groups run to the end of their window.
func (s *Store) EndGroupBuy(ctx context.Context, merchantID, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE group_buys SET ends_at = least(ends_at, greatest(starts_at + interval '1 microsecond', now())) WHERE id = $1 AND merchant_id = $2`, id, merchantID)
	if err != nil {
		return fmt.Errorf("end group buy %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("group buy %s: %w", id, ErrNotFound)
	}
	return nil
}

// MerchantPromotion is a stored promotion with the room it belongs to.
type MerchantPromotion struct {
	pricing.Promotion
	RoomID string
}

// MerchantPromotions returns the merchant's promotions, newest first.
func (s *Store) MerchantPromotions(ctx context.Context, merchantID string, limit int) ([]MerchantPromotion, error) {
	rows, err := s.pool.Query(ctx, `SELECT room_id, `+promotionColumns+` FROM promotions WHERE merchant_id = $1 ORDER BY created_at DESC, id LIMIT $2`, merchantID, limit)
	if err != nil {
		return nil, fmt.Errorf("promotions of %s: %w", merchantID, err)
	}
	defer rows.Close()
	var out []MerchantPromotion
	for rows.Next() {
		var room string
		// scanPromotion reads the columns after room_id.
		p, err := scanPromotion(roomRow{rows, &room})
		if err != nil {
			return nil, fmt.Errorf("promotions of %s: %w", merchantID, err)
		}
		out = append(out, MerchantPromotion{Promotion: p, RoomID: room})
	}
	return out, rows.Err()
}

// roomRow reads a leading room_id column before the promotion's columns.
type roomRow struct {
	pgx.Rows
	room *string
}

func (r roomRow) Scan(dest ...any) error { return r.Rows.Scan(append([]any{r.room}, dest...)...) }

// CheckPromotionOwner says whether a promotion id is free or the
// merchant's: ErrNotYours when another merchant's.
func (s *Store) CheckPromotionOwner(ctx context.Context, merchantID, id string) (exists bool, err error) {
	var owner string
	err = s.pool.QueryRow(ctx, `SELECT merchant_id FROM promotions WHERE id = $1`, id).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("promotion %s: %w", id, err)
	}
	if owner != merchantID {
		return true, fmt.Errorf("promotion %s: %w", id, ErrNotYours)
	}
	return true, nil
}

// EndPromotion ends the merchant's promotion now (valid_until = now).
func (s *Store) EndPromotion(ctx context.Context, merchantID, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE promotions SET valid_until = least(coalesce(valid_until, 'infinity'), greatest(coalesce(valid_from, '-infinity') + interval '1 microsecond', now())) WHERE id = $1 AND merchant_id = $2`, id, merchantID)
	if err != nil {
		return fmt.Errorf("end promotion %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("promotion %s: %w", id, ErrNotFound)
	}
	return nil
}
