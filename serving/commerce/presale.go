package commerce

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/pricing"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// submitDeposit submits a presale's deposit order: one item, its SKU.
func (h *Handler) submitDeposit(ctx context.Context, userID, key string, m *tidev1.SubmitRequest) (*connect.Response[tidev1.SubmitResponse], error) {
	if m.GetFlashSaleId() != "" || m.GetCouponId() != "" || m.GetGroupBuyId() != "" {
		return nil, invalid("presale_id", "a presale takes no flash sale, group buy or coupon")
	}
	p, err := h.store.Presale(ctx, m.GetPresaleId())
	if err != nil {
		return nil, h.fail("Submit", err)
	}
	items := m.GetItems()
	if len(items) != 1 || items[0].GetSkuId() != p.SKUID {
		return nil, invalid("items", fmt.Sprintf("presale %s sells one item: SKU %s", p.ID, p.SKUID))
	}
	if q := items[0].GetQuantity(); q < 1 || q > pricing.MaxQuantity {
		return nil, invalid("items[0].quantity", fmt.Sprintf("%d is not in 1..%d", q, pricing.MaxQuantity))
	}
	o, created, err := h.orders.SubmitDeposit(ctx, postgres.PresaleBuy{UserID: userID, RoomID: m.GetRoomId(), IdempotencyKey: key, PresaleID: p.ID, Quantity: items[0].GetQuantity()})
	if err != nil {
		return nil, h.fail("Submit", err)
	}
	return connect.NewResponse(&tidev1.SubmitResponse{Order: orderMessage(o), Created: created}), nil
}

// SubmitBalance implements CommerceService.SubmitBalance.
func (h *Handler) SubmitBalance(ctx context.Context, req *connect.Request[tidev1.SubmitBalanceRequest]) (*connect.Response[tidev1.SubmitBalanceResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	if req.Msg.GetDepositOrderId() == "" {
		return nil, invalid("deposit_order_id", "is empty")
	}
	key := req.Msg.GetIdempotencyKey()
	if key == "" || len(key) > 64 {
		return nil, invalid("idempotency_key", "needs 1 to 64 characters, one per checkout")
	}
	o, created, err := h.orders.SubmitBalance(ctx, p.UserID, req.Msg.GetDepositOrderId(), req.Msg.GetRoomId(), key)
	if err != nil {
		return nil, h.fail("SubmitBalance", err)
	}
	return connect.NewResponse(&tidev1.SubmitBalanceResponse{Order: orderMessage(o), Created: created}), nil
}

// GetPresaleEntry implements CommerceService.GetPresaleEntry.
func (h *Handler) GetPresaleEntry(ctx context.Context, req *connect.Request[tidev1.GetPresaleEntryRequest]) (*connect.Response[tidev1.GetPresaleEntryResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	if req.Msg.GetDepositOrderId() == "" {
		return nil, invalid("deposit_order_id", "is empty")
	}
	pp, err := h.orders.PresalePurchase(ctx, p.UserID, req.Msg.GetDepositOrderId())
	if err != nil {
		return nil, h.fail("GetPresaleEntry", err)
	}
	return connect.NewResponse(&tidev1.GetPresaleEntryResponse{Entry: entryMessage(pp.Entry), Presale: presaleMessage(pp.Presale), Purchase: purchaseMessage(pp)}), nil
}

// ListPresalePurchases implements CommerceService.ListPresalePurchases.
func (h *Handler) ListPresalePurchases(ctx context.Context, req *connect.Request[tidev1.ListPresalePurchasesRequest]) (*connect.Response[tidev1.ListPresalePurchasesResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	f, err := listFilter(req.Msg.GetPageSize(), req.Msg.GetBefore())
	if err != nil {
		return nil, err
	}
	f.UserID = p.UserID
	pps, err := h.orders.PresalePurchases(ctx, f)
	if err != nil {
		return nil, h.fail("ListPresalePurchases", err)
	}
	res := &tidev1.ListPresalePurchasesResponse{}
	for _, pp := range pps {
		res.Purchases = append(res.Purchases, purchaseMessage(pp))
	}
	return connect.NewResponse(res), nil
}

func purchaseMessage(pp commerce.PresalePurchase) *tidev1.PresalePurchase {
	return &tidev1.PresalePurchase{Entry: entryMessage(pp.Entry), Presale: presaleMessage(pp.Presale), DepositFen: pp.DepositFen, DepositPaid: pp.DepositPaid,
		BalanceFen: pp.BalanceFen, BalancePaid: pp.BalancePaid, DueFen: pp.DueFen, CreatedAt: stamp(pp.CreatedAt)}
}

func entryMessage(e commerce.PresaleEntry) *tidev1.PresaleEntry {
	return &tidev1.PresaleEntry{DepositOrderId: e.DepositOrderID, PresaleId: e.PresaleID, Quantity: e.Quantity, State: string(e.State), BalanceOrderId: e.BalanceOrderID}
}

func presaleMessage(p commerce.Presale) *tidev1.Presale {
	return &tidev1.Presale{Id: p.ID, SkuId: p.SKUID, PriceFen: p.PriceFen, DepositFen: p.DepositFen, DeductionFen: p.DeductionFen,
		DepositStartsAt: stamp(p.DepositStartsAt), DepositEndsAt: stamp(p.DepositEndsAt), BalanceStartsAt: stamp(p.BalanceStartsAt),
		BalanceEndsAt: stamp(p.BalanceEndsAt), Allotment: p.Allotment, Remaining: p.Remaining, PerUserLimit: p.PerUserLimit, Cancelled: p.Cancelled}
}
