package commerce

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/pricing"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// RoomOwner returns the merchant of a live room (live/postgres's registry),
// so a merchant's room promotion is only ever for its own room.
type RoomOwner func(ctx context.Context, roomID string) (merchantID string, err error)

// WithRoomOwner enables room promotions in PutPromotion (without it they
// are refused with failed_precondition: the room's owner cannot be checked).
func WithRoomOwner(f RoomOwner) Option { return func(h *Handler) { h.roomOwner = f } }

var (
	sourceByName = map[string]pricing.Source{"room": pricing.Room, "shop": pricing.Shop, "coupon": pricing.Coupon}
	kindByName   = map[string]pricing.Kind{"tiered": pricing.Tiered, "percent": pricing.Percent}
)

// optionalTime parses an optional RFC 3339 field (empty is the zero time).
func optionalTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	return activityTime(field, v)
}

// PutPromotion implements CommerceService.PutPromotion.
func (h *Handler) PutPromotion(ctx context.Context, req *connect.Request[tidev1.PutPromotionRequest]) (*connect.Response[tidev1.PutPromotionResponse], error) {
	p, err := requireMerchant(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg.GetPromotion()
	if err := activityID("promotion.id", m.GetId()); err != nil {
		return nil, err
	}
	src, ok := sourceByName[m.GetSource()]
	if !ok {
		return nil, invalid("promotion.source", fmt.Sprintf("%q is not room, shop or coupon", m.GetSource()))
	}
	kind, ok := kindByName[m.GetKind()]
	if !ok {
		return nil, invalid("promotion.kind", fmt.Sprintf("%q is not tiered or percent", m.GetKind()))
	}
	promo := pricing.Promotion{ID: m.GetId(), Source: src, Kind: kind, PayBasisPoints: m.GetPayBasisPoints(), CapFen: m.GetCapFen(),
		ThresholdFen: m.GetThresholdFen(), PerUserLimit: int(m.GetPerUserLimit()), Stackable: m.GetStackable()}
	for _, t := range m.GetTiers() {
		promo.Tiers = append(promo.Tiers, pricing.Tier{ThresholdFen: t.GetThresholdFen(), OffFen: t.GetOffFen()})
	}
	if promo.ValidFrom, err = optionalTime("promotion.valid_from", m.GetValidFrom()); err != nil {
		return nil, err
	}
	if promo.ValidUntil, err = optionalTime("promotion.valid_until", m.GetValidUntil()); err != nil {
		return nil, err
	}
	room := m.GetRoomId()
	if (src == pricing.Room) != (room != "") {
		return nil, invalid("promotion.room_id", "a room promotion needs its room, other promotions none")
	}
	if room != "" {
		if h.roomOwner == nil {
			return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New("promotion.room_id: room ownership cannot be checked on this server"))
		}
		owner, err := h.roomOwner(ctx, room)
		if err != nil {
			return nil, h.fail("PutPromotion", err)
		}
		if owner != p.MerchantID {
			return nil, connect.NewError(connect.CodePermissionDenied, fmt.Errorf("promotion.room_id: room %s is not yours", room))
		}
	}
	if _, err := h.store.CheckPromotionOwner(ctx, p.MerchantID, promo.ID); err != nil {
		return nil, h.fail("PutPromotion", err)
	}
	if err := h.store.PutPromotion(ctx, p.MerchantID, room, promo); err != nil {
		var pe *pricing.FieldError
		if errors.As(err, &pe) {
			return nil, invalid("promotion."+pe.Field, pe.Reason)
		}
		return nil, h.fail("PutPromotion", err)
	}
	return connect.NewResponse(&tidev1.PutPromotionResponse{}), nil
}

// ListPromotions implements CommerceService.ListPromotions.
func (h *Handler) ListPromotions(ctx context.Context, req *connect.Request[tidev1.ListPromotionsRequest]) (*connect.Response[tidev1.ListPromotionsResponse], error) {
	p, err := requireMerchant(ctx)
	if err != nil {
		return nil, err
	}
	n, err := pageSize(req.Msg.GetPageSize())
	if err != nil {
		return nil, err
	}
	ps, err := h.store.MerchantPromotions(ctx, p.MerchantID, n)
	if err != nil {
		return nil, h.fail("ListPromotions", err)
	}
	res := &tidev1.ListPromotionsResponse{}
	for _, mp := range ps {
		res.Promotions = append(res.Promotions, promotionMessage(mp))
	}
	return connect.NewResponse(res), nil
}

func promotionMessage(mp postgres.MerchantPromotion) *tidev1.Promotion {
	m := &tidev1.Promotion{Id: mp.ID, Source: mp.Source.String(), RoomId: mp.RoomID, PayBasisPoints: mp.PayBasisPoints, CapFen: mp.CapFen,
		ThresholdFen: mp.ThresholdFen, ValidFrom: stamp(mp.ValidFrom), ValidUntil: stamp(mp.ValidUntil), PerUserLimit: int32(mp.PerUserLimit), Stackable: mp.Stackable}
	for name, k := range kindByName {
		if k == mp.Kind {
			m.Kind = name
		}
	}
	for _, t := range mp.Tiers {
		m.Tiers = append(m.Tiers, &tidev1.PromotionTier{ThresholdFen: t.ThresholdFen, OffFen: t.OffFen})
	}
	return m
}

// EndPromotion implements CommerceService.EndPromotion.
func (h *Handler) EndPromotion(ctx context.Context, req *connect.Request[tidev1.EndPromotionRequest]) (*connect.Response[tidev1.EndPromotionResponse], error) {
	p, err := requireMerchant(ctx)
	if err != nil {
		return nil, err
	}
	if err := activityID("promotion_id", req.Msg.GetPromotionId()); err != nil {
		return nil, err
	}
	if err := h.store.EndPromotion(ctx, p.MerchantID, req.Msg.GetPromotionId()); err != nil {
		return nil, h.fail("EndPromotion", err)
	}
	return connect.NewResponse(&tidev1.EndPromotionResponse{}), nil
}

// GrantCoupon implements CommerceService.GrantCoupon.
func (h *Handler) GrantCoupon(ctx context.Context, req *connect.Request[tidev1.GrantCouponRequest]) (*connect.Response[tidev1.GrantCouponResponse], error) {
	p, err := requireMerchant(ctx)
	if err != nil {
		return nil, err
	}
	id, user := req.Msg.GetPromotionId(), req.Msg.GetUserId()
	if err := activityID("promotion_id", id); err != nil {
		return nil, err
	}
	if user == "" || len(user) > 128 {
		return nil, invalid("user_id", "needs 1 to 128 characters")
	}
	exists, err := h.store.CheckPromotionOwner(ctx, p.MerchantID, id)
	if err != nil {
		return nil, h.fail("GrantCoupon", err)
	}
	if !exists {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("promotion_id: %s is not one of your coupons", id))
	}
	if err := h.store.GrantCoupon(ctx, id, user); err != nil {
		return nil, h.fail("GrantCoupon", err)
	}
	return connect.NewResponse(&tidev1.GrantCouponResponse{}), nil
}
