package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/pricing"
)

var sourceNames = map[pricing.Source]string{pricing.Room: "room", pricing.Shop: "shop", pricing.Coupon: "coupon"}
var kindNames = map[pricing.Kind]string{pricing.Tiered: "tiered", pricing.Percent: "percent"}

type tierJSON struct {
	ThresholdFen int64 `json:"threshold_fen"`
	OffFen       int64 `json:"off_fen"`
}

// ErrLimitUsed: the user's orders already used a promotion its per-user
// limit of times.
var ErrLimitUsed = errors.New("promotion per-user limit used up")

// PutPromotion creates or replaces a merchant's promotion; roomID is the
// room of a Room promotion. The promotion is checked by pricing's rules.
func (s *Store) PutPromotion(ctx context.Context, merchantID, roomID string, p pricing.Promotion) error {
	if _, err := pricing.Price(pricing.Request{Lines: []pricing.Line{{SKUID: "check", UnitFen: 1, Quantity: 1}}, Promotions: []pricing.Promotion{p}}); err != nil {
		return err
	}
	if (p.Source == pricing.Room) != (roomID != "") {
		return &commerce.FieldError{Field: "room_id", Reason: "a room promotion needs its room, other promotions none"}
	}
	tiers := make([]tierJSON, len(p.Tiers))
	for i, t := range p.Tiers {
		tiers[i] = tierJSON{t.ThresholdFen, t.OffFen}
	}
	tj, err := json.Marshal(tiers)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `
		INSERT INTO promotions (id, merchant_id, room_id, source, kind, tiers, pay_basis_points, cap_fen, threshold_fen, valid_from, valid_until, per_user_limit, stackable)
		VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (id) DO UPDATE SET room_id = EXCLUDED.room_id, source = EXCLUDED.source, kind = EXCLUDED.kind, tiers = EXCLUDED.tiers,
			pay_basis_points = EXCLUDED.pay_basis_points, cap_fen = EXCLUDED.cap_fen, threshold_fen = EXCLUDED.threshold_fen,
			valid_from = EXCLUDED.valid_from, valid_until = EXCLUDED.valid_until, per_user_limit = EXCLUDED.per_user_limit, stackable = EXCLUDED.stackable
		WHERE promotions.merchant_id = EXCLUDED.merchant_id`,
		p.ID, merchantID, roomID, sourceNames[p.Source], kindNames[p.Kind], string(tj), p.PayBasisPoints, p.CapFen, p.ThresholdFen,
		timestamptz(p.ValidFrom), timestamptz(p.ValidUntil), p.PerUserLimit, p.Stackable)
	if err != nil {
		return fmt.Errorf("promotion %s: %w", p.ID, err)
	}
	return nil
}

// GrantCoupon gives a user a coupon (a Coupon promotion).
func (s *Store) GrantCoupon(ctx context.Context, promotionID, userID string) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO user_coupons (promotion_id, user_id) SELECT id, $2 FROM promotions WHERE id = $1 AND source = 'coupon' ON CONFLICT DO NOTHING`, promotionID, userID)
	if err != nil {
		return fmt.Errorf("grant %s: %w", promotionID, err)
	}
	if tag.RowsAffected() == 0 {
		var n int
		_ = s.pool.QueryRow(ctx, `SELECT count(*) FROM user_coupons WHERE promotion_id = $1 AND user_id = $2`, promotionID, userID).Scan(&n)
		if n == 0 {
			return fmt.Errorf("coupon %s: %w", promotionID, ErrNotFound)
		}
	}
	return nil
}

// Promotions returns what may apply to the user's order of a merchant in a
// room now: the room's newest valid promotion, the shop's newest valid
// promotion and, when couponID is given, that coupon if the user holds it —
// with the user's past uses of each (orders not closed). Validity windows
// and limits are decided by pricing.
func (s *Store) Promotions(ctx context.Context, userID, merchantID, roomID, couponID string) ([]pricing.Promotion, pricing.Usage, error) {
	rows, err := s.pool.Query(ctx, `
		(SELECT `+promotionColumns+` FROM promotions WHERE merchant_id = $1 AND source = 'room' AND room_id = $2 AND $2 <> ''
			AND (valid_until IS NULL OR valid_until > now()) ORDER BY created_at DESC LIMIT 1)
		UNION ALL
		(SELECT `+promotionColumns+` FROM promotions WHERE merchant_id = $1 AND source = 'shop'
			AND (valid_until IS NULL OR valid_until > now()) ORDER BY created_at DESC LIMIT 1)
		UNION ALL
		(SELECT `+promotionColumns+` FROM promotions p WHERE p.merchant_id = $1 AND p.source = 'coupon' AND p.id = $3
			AND EXISTS (SELECT 1 FROM user_coupons c WHERE c.promotion_id = p.id AND c.user_id = $4))`,
		merchantID, roomID, couponID, userID)
	if err != nil {
		return nil, nil, fmt.Errorf("promotions of %s: %w", merchantID, err)
	}
	ps, err := pgx.CollectRows(rows, scanPromotion)
	if err != nil {
		return nil, nil, fmt.Errorf("promotions of %s: %w", merchantID, err)
	}
	if couponID != "" && (len(ps) == 0 || ps[len(ps)-1].ID != couponID) {
		return nil, nil, &commerce.FieldError{Field: "coupon_id", Reason: fmt.Sprintf("%s is not a coupon of this shop that you hold", couponID)}
	}
	usage := pricing.Usage{}
	for _, p := range ps {
		if p.PerUserLimit == 0 {
			continue
		}
		var n int
		if err := s.pool.QueryRow(ctx, usesSQL, p.ID, userID).Scan(&n); err != nil {
			return nil, nil, fmt.Errorf("uses of %s: %w", p.ID, err)
		}
		usage[p.ID] = n
	}
	return ps, usage, nil
}

// usesSQL counts a user's live uses of a promotion (closed orders gave
// theirs back).
const usesSQL = `SELECT count(*) FROM promotion_uses u JOIN orders o ON o.id = u.order_id
	WHERE u.promotion_id = $1 AND u.user_id = $2 AND o.pay_state <> 'closed'`

const promotionColumns = `id, source, kind, tiers, pay_basis_points, cap_fen, threshold_fen, valid_from, valid_until, per_user_limit, stackable`

func scanPromotion(r pgx.CollectableRow) (pricing.Promotion, error) {
	var (
		p            pricing.Promotion
		source, kind string
		tiers        []byte
		from, until  pgtype.Timestamptz
	)
	if err := r.Scan(&p.ID, &source, &kind, &tiers, &p.PayBasisPoints, &p.CapFen, &p.ThresholdFen, &from, &until, &p.PerUserLimit, &p.Stackable); err != nil {
		return p, err
	}
	for s, n := range sourceNames {
		if n == source {
			p.Source = s
		}
	}
	for k, n := range kindNames {
		if n == kind {
			p.Kind = k
		}
	}
	var ts []tierJSON
	if err := json.Unmarshal(tiers, &ts); err != nil {
		return p, err
	}
	for _, t := range ts {
		p.Tiers = append(p.Tiers, pricing.Tier{ThresholdFen: t.ThresholdFen, OffFen: t.OffFen})
	}
	if from.Valid {
		p.ValidFrom = from.Time.UTC()
	}
	if until.Valid {
		p.ValidUntil = until.Time.UTC()
	}
	return p, nil
}

// usePromotions records that order uses promotions, in the order's
// transaction, and refuses (ErrLimitUsed) when that takes the user past a
// promotion's per-user limit — checked under a per-user, per-promotion lock,
// so two concurrent orders cannot both take the last use.
func usePromotions(ctx context.Context, tx pgx.Tx, userID, orderID string, ids []string) error {
	for _, id := range ids {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 || '|' || $2, 0))`, id, userID); err != nil {
			return fmt.Errorf("lock uses of %s: %w", id, err)
		}
		var limit, used int
		// A promotion that is not stored here (another source) has no limit to keep.
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT per_user_limit FROM promotions WHERE id = $1), 0)`, id).Scan(&limit); err != nil {
			return fmt.Errorf("promotion %s: %w", id, err)
		}
		if limit > 0 {
			if err := tx.QueryRow(ctx, usesSQL, id, userID).Scan(&used); err != nil {
				return fmt.Errorf("uses of %s: %w", id, err)
			}
			if used >= limit {
				return fmt.Errorf("promotion %s (%d per user): %w", id, limit, ErrLimitUsed)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO promotion_uses (promotion_id, user_id, order_id) VALUES ($1, $2, $3)`, id, userID, orderID); err != nil {
			return fmt.Errorf("use %s: %w", id, err)
		}
	}
	return nil
}
