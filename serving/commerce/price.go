package commerce

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/pricing"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/auth"
)

// maxItems bounds the lines of one order.
const maxItems = 50

func requireUser(ctx context.Context) (auth.Principal, error) { return auth.RequireUser(ctx) }

// requireMerchant returns the calling merchant; users, admins without a
// merchant and anonymous callers are refused.
func requireMerchant(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.PrincipalFrom(ctx)
	switch {
	case !ok || p.Role == auth.RoleAnonymous:
		return p, connect.NewError(connect.CodeUnauthenticated, errors.New("this call needs a merchant API key"))
	case p.Role != auth.RoleMerchant || p.MerchantID == "":
		return p, connect.NewError(connect.CodePermissionDenied, errors.New("this call is for merchants, not "+p.Role.String()+"s"))
	}
	return p, nil
}

// priced is a quote with what Submit needs to turn it into an order.
type priced struct {
	quote       pricing.Quote
	merchantID  string
	roomID      string
	flashSaleID string
	products    map[string]string // sku → product
}

// price prices items from the database's current SKU prices (never the
// client's), with the merchant's promotions, or at the flash sale's price.
// Preview and Submit both call it.
func (h *Handler) price(ctx context.Context, userID string, items []*tidev1.LineItem, roomID, flashSaleID, couponID string) (priced, error) {
	if len(items) == 0 || len(items) > maxItems {
		return priced{}, invalid("items", fmt.Sprintf("needs 1 to %d items", maxItems))
	}
	ids := make([]string, len(items))
	seen := map[string]bool{}
	for i, it := range items {
		switch {
		case it.GetSkuId() == "":
			return priced{}, invalid(fmt.Sprintf("items[%d].sku_id", i), "is empty")
		case seen[it.GetSkuId()]:
			return priced{}, invalid(fmt.Sprintf("items[%d].sku_id", i), it.GetSkuId()+" appears twice")
		case it.GetQuantity() < 1 || it.GetQuantity() > pricing.MaxQuantity:
			return priced{}, invalid(fmt.Sprintf("items[%d].quantity", i), fmt.Sprintf("%d is not in 1..%d", it.GetQuantity(), pricing.MaxQuantity))
		}
		seen[it.GetSkuId()] = true
		ids[i] = it.GetSkuId()
	}
	p := priced{roomID: roomID, flashSaleID: flashSaleID, products: map[string]string{}}
	offers, err := h.offers(ctx, ids, flashSaleID)
	if err != nil {
		return priced{}, err
	}
	req := pricing.Request{At: h.now()}
	for i, it := range items {
		o, ok := offers[it.GetSkuId()]
		if !ok {
			return priced{}, connect.NewError(connect.CodeNotFound, fmt.Errorf("items[%d].sku_id: no SKU %s", i, it.GetSkuId()))
		}
		if !o.OnShelf {
			return priced{}, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("items[%d]: SKU %s is not for sale", i, it.GetSkuId()))
		}
		if p.merchantID == "" {
			p.merchantID = o.MerchantID
		} else if o.MerchantID != p.merchantID {
			return priced{}, invalid("items", "SKUs of several merchants: submit one order per merchant")
		}
		p.products[o.SKUID] = o.ProductID
		req.Lines = append(req.Lines, pricing.Line{SKUID: o.SKUID, UnitFen: o.PriceFen, Quantity: it.GetQuantity()})
	}
	if flashSaleID != "" {
		if h.seller == nil {
			return priced{}, connect.NewError(connect.CodeUnavailable, errors.New("flash sales are not configured"))
		}
		sale, err := h.seller.Sale(ctx, flashSaleID)
		if err != nil {
			return priced{}, err
		}
		if len(items) != 1 || items[0].GetSkuId() != sale.SKUID {
			return priced{}, invalid("items", fmt.Sprintf("flash sale %s sells one item: SKU %s", flashSaleID, sale.SKUID))
		}
		if couponID != "" {
			return priced{}, invalid("coupon_id", "a flash-sale price does not stack with coupons")
		}
		req.Lines[0].UnitFen = sale.PriceFen
	} else if h.promotions != nil {
		if req.Promotions, req.Usage, err = h.promotions(ctx, userID, p.merchantID, roomID, couponID); err != nil {
			return priced{}, err
		}
	}
	if p.quote, err = pricing.Price(req); err != nil {
		return priced{}, err
	}
	return p, nil
}

// order is the order the quote becomes.
func (p priced) order(userID, key string) order.Order {
	o := order.Order{UserID: userID, MerchantID: p.merchantID, RoomID: p.roomID, IdempotencyKey: key, FlashSaleID: p.flashSaleID,
		TotalFen: p.quote.TotalFen, DiscountFen: p.quote.DiscountFen, PayFen: p.quote.PayFen}
	for _, a := range p.quote.Applied {
		o.Promotions = append(o.Promotions, a.PromotionID)
	}
	for _, l := range p.quote.Lines {
		o.Lines = append(o.Lines, order.Line{ProductID: p.products[l.SKUID], SKUID: l.SKUID, UnitFen: l.UnitFen, Quantity: l.Quantity,
			TotalFen: l.TotalFen, DiscountFen: l.DiscountFen, PayFen: l.PayFen})
	}
	return o
}

func priceMessage(p priced) *tidev1.Price {
	m := &tidev1.Price{TotalFen: p.quote.TotalFen, DiscountFen: p.quote.DiscountFen, PayFen: p.quote.PayFen}
	for _, l := range p.quote.Lines {
		m.Lines = append(m.Lines, &tidev1.PricedLine{SkuId: l.SKUID, ProductId: p.products[l.SKUID], UnitFen: l.UnitFen, Quantity: l.Quantity,
			TotalFen: l.TotalFen, DiscountFen: l.DiscountFen, PayFen: l.PayFen})
	}
	for _, a := range p.quote.Applied {
		m.Promotions = append(m.Promotions, &tidev1.PromotionResult{PromotionId: a.PromotionID, DiscountFen: a.DiscountFen})
	}
	for _, s := range p.quote.Skipped {
		m.Promotions = append(m.Promotions, &tidev1.PromotionResult{PromotionId: s.PromotionID, SkippedReason: s.Reason})
	}
	return m
}
