package commerce

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// maxActivityID bounds activity and promotion ids.
const maxActivityID = 64

// activityTime parses a required RFC 3339 field.
func activityTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, invalid(field, fmt.Sprintf("%q is not an RFC 3339 time", v))
	}
	return t.UTC(), nil
}

// activityID checks an id field.
func activityID(field, id string) error {
	if id == "" || len(id) > maxActivityID {
		return invalid(field, fmt.Sprintf("needs 1 to %d characters", maxActivityID))
	}
	return nil
}

// CreateActivity implements CommerceService.CreateActivity.
func (h *Handler) CreateActivity(ctx context.Context, req *connect.Request[tidev1.CreateActivityRequest]) (*connect.Response[tidev1.CreateActivityResponse], error) {
	p, err := requireMerchant(ctx)
	if err != nil {
		return nil, err
	}
	a := req.Msg.GetActivity()
	var created *tidev1.Activity
	switch {
	case a.GetFlashSale() != nil:
		created, err = h.createFlashSale(ctx, p.MerchantID, a.GetFlashSale())
	case a.GetGroupBuy() != nil:
		created, err = h.createGroupBuy(ctx, p.MerchantID, a.GetGroupBuy())
	case a.GetPresale() != nil:
		created, err = h.createPresale(ctx, p.MerchantID, a.GetPresale())
	default:
		return nil, invalid("activity", "needs a flash_sale, group_buy or presale")
	}
	if err != nil {
		return nil, h.fail("CreateActivity", err)
	}
	return connect.NewResponse(&tidev1.CreateActivityResponse{Activity: created}), nil
}

func (h *Handler) createFlashSale(ctx context.Context, merchantID string, m *tidev1.FlashSale) (*tidev1.Activity, error) {
	if err := activityID("activity.flash_sale.id", m.GetId()); err != nil {
		return nil, err
	}
	starts, err := activityTime("activity.flash_sale.starts_at", m.GetStartsAt())
	if err != nil {
		return nil, err
	}
	ends, err := activityTime("activity.flash_sale.ends_at", m.GetEndsAt())
	if err != nil {
		return nil, err
	}
	if err := h.store.CheckSKUOwner(ctx, merchantID, m.GetSkuId()); err != nil {
		return nil, err
	}
	f := commerce.FlashSale{ID: m.GetId(), MerchantID: merchantID, SKUID: m.GetSkuId(), PriceFen: m.GetPriceFen(), StartsAt: starts, EndsAt: ends,
		Allotment: m.GetAllotment(), PerUserLimit: m.GetPerUserLimit()}
	if err := h.store.CreateFlashSale(ctx, f); err != nil {
		return nil, err
	}
	f, err = h.store.FlashSale(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	return &tidev1.Activity{Kind: &tidev1.Activity_FlashSale{FlashSale: flashSaleMessage(f)}}, nil
}

func (h *Handler) createGroupBuy(ctx context.Context, merchantID string, m *tidev1.GroupBuy) (*tidev1.Activity, error) {
	if err := activityID("activity.group_buy.id", m.GetId()); err != nil {
		return nil, err
	}
	starts, err := activityTime("activity.group_buy.starts_at", m.GetStartsAt())
	if err != nil {
		return nil, err
	}
	ends, err := activityTime("activity.group_buy.ends_at", m.GetEndsAt())
	if err != nil {
		return nil, err
	}
	if m.GetWindowSeconds() <= 0 || m.GetWindowSeconds() > 30*24*3600 {
		return nil, invalid("activity.group_buy.window_seconds", fmt.Sprintf("%d is not in 1..%d", m.GetWindowSeconds(), 30*24*3600))
	}
	if err := h.store.CheckSKUOwner(ctx, merchantID, m.GetSkuId()); err != nil {
		return nil, err
	}
	g := commerce.GroupBuy{ID: m.GetId(), MerchantID: merchantID, SKUID: m.GetSkuId(), PriceFen: m.GetPriceFen(), GroupSize: int(m.GetGroupSize()),
		Window: time.Duration(m.GetWindowSeconds()) * time.Second, StartsAt: starts, EndsAt: ends}
	if err := h.store.CreateGroupBuy(ctx, g); err != nil {
		return nil, err
	}
	return &tidev1.Activity{Kind: &tidev1.Activity_GroupBuy{GroupBuy: groupBuyMessage(g)}}, nil
}

func (h *Handler) createPresale(ctx context.Context, merchantID string, m *tidev1.Presale) (*tidev1.Activity, error) {
	p := commerce.Presale{ID: m.GetId(), MerchantID: merchantID, SKUID: m.GetSkuId(), PriceFen: m.GetPriceFen(), DepositFen: m.GetDepositFen(),
		DeductionFen: m.GetDeductionFen(), Allotment: m.GetAllotment(), PerUserLimit: m.GetPerUserLimit()}
	for _, f := range []struct {
		name string
		v    string
		to   *time.Time
	}{
		{"deposit_starts_at", m.GetDepositStartsAt(), &p.DepositStartsAt}, {"deposit_ends_at", m.GetDepositEndsAt(), &p.DepositEndsAt},
		{"balance_starts_at", m.GetBalanceStartsAt(), &p.BalanceStartsAt}, {"balance_ends_at", m.GetBalanceEndsAt(), &p.BalanceEndsAt},
	} {
		t, err := activityTime("activity.presale."+f.name, f.v)
		if err != nil {
			return nil, err
		}
		*f.to = t
	}
	var fe *commerce.FieldError
	if err := p.Validate(); errors.As(err, &fe) {
		return nil, invalid("activity."+fe.Field, fe.Reason)
	}
	if err := h.store.CheckSKUOwner(ctx, merchantID, p.SKUID); err != nil {
		return nil, err
	}
	if err := h.store.CreatePresale(ctx, p); err != nil {
		return nil, err
	}
	p, err := h.store.Presale(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return &tidev1.Activity{Kind: &tidev1.Activity_Presale{Presale: presaleMessage(p)}}, nil
}

// ListActivities implements CommerceService.ListActivities: each kind's
// newest page_size (default 50), flash sales, then group buys, then presales.
func (h *Handler) ListActivities(ctx context.Context, req *connect.Request[tidev1.ListActivitiesRequest]) (*connect.Response[tidev1.ListActivitiesResponse], error) {
	p, err := requireMerchant(ctx)
	if err != nil {
		return nil, err
	}
	n, err := pageSize(req.Msg.GetPageSize())
	if err != nil {
		return nil, err
	}
	res := &tidev1.ListActivitiesResponse{}
	fs, err := h.store.FlashSales(ctx, p.MerchantID, n)
	if err != nil {
		return nil, h.fail("ListActivities", err)
	}
	for _, f := range fs {
		res.Activities = append(res.Activities, &tidev1.Activity{Kind: &tidev1.Activity_FlashSale{FlashSale: flashSaleMessage(f)}})
	}
	gs, err := h.store.GroupBuys(ctx, p.MerchantID, n)
	if err != nil {
		return nil, h.fail("ListActivities", err)
	}
	for _, g := range gs {
		res.Activities = append(res.Activities, &tidev1.Activity{Kind: &tidev1.Activity_GroupBuy{GroupBuy: groupBuyMessage(g)}})
	}
	ps, err := h.store.Presales(ctx, p.MerchantID, n)
	if err != nil {
		return nil, h.fail("ListActivities", err)
	}
	for _, s := range ps {
		res.Activities = append(res.Activities, &tidev1.Activity{Kind: &tidev1.Activity_Presale{Presale: presaleMessage(s)}})
	}
	return connect.NewResponse(res), nil
}

func pageSize(n int32) (int, error) {
	switch {
	case n < 0 || n > 100:
		return 0, invalid("page_size", fmt.Sprintf("%d is not in 0..100", n))
	case n == 0:
		return 50, nil
	}
	return int(n), nil
}

// EndActivity implements CommerceService.EndActivity.
func (h *Handler) EndActivity(ctx context.Context, req *connect.Request[tidev1.EndActivityRequest]) (*connect.Response[tidev1.EndActivityResponse], error) {
	p, err := requireMerchant(ctx)
	if err != nil {
		return nil, err
	}
	id := req.Msg.GetActivityId()
	if err := activityID("activity_id", id); err != nil {
		return nil, err
	}
	switch req.Msg.GetKind() {
	case tidev1.ActivityKind_ACTIVITY_KIND_FLASH_SALE:
		err = h.store.EndFlashSale(ctx, p.MerchantID, id)
	case tidev1.ActivityKind_ACTIVITY_KIND_GROUP_BUY:
		err = h.store.EndGroupBuy(ctx, p.MerchantID, id)
	case tidev1.ActivityKind_ACTIVITY_KIND_PRESALE:
		err = h.orders.CancelPresale(ctx, p.MerchantID, id)
	default:
		return nil, invalid("kind", "needs a flash sale, group buy or presale")
	}
	if err != nil {
		return nil, h.fail("EndActivity", err)
	}
	return connect.NewResponse(&tidev1.EndActivityResponse{}), nil
}

func flashSaleMessage(f commerce.FlashSale) *tidev1.FlashSale {
	return &tidev1.FlashSale{Id: f.ID, SkuId: f.SKUID, PriceFen: f.PriceFen, StartsAt: stamp(f.StartsAt), EndsAt: stamp(f.EndsAt),
		Allotment: f.Allotment, Remaining: f.Remaining, PerUserLimit: f.PerUserLimit}
}

func groupBuyMessage(g commerce.GroupBuy) *tidev1.GroupBuy {
	return &tidev1.GroupBuy{Id: g.ID, SkuId: g.SKUID, PriceFen: g.PriceFen, GroupSize: int32(g.GroupSize), WindowSeconds: int64(g.Window / time.Second),
		StartsAt: stamp(g.StartsAt), EndsAt: stamp(g.EndsAt)}
}
