package commerce_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	servingcommerce "github.com/tide-live/tide/serving/commerce"
)

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// payByWeChat pays order id through Pay and the fake's signed notify.
func payByWeChat(t *testing.T, r *rig, userID, id string) {
	t.Helper()
	ctx := context.Background()
	if _, err := r.client.Pay(ctx, user(userID, &tidev1.PayRequest{OrderId: id, LoginCode: "c"})); err != nil {
		t.Fatalf("pay %s: %v", id, err)
	}
	body, err := r.fake.Pay(id + "_1")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := r.fake.NotifyRequest("https://tide.example/notify", body, time.Now(), false)
	rec := httptest.NewRecorder()
	r.payments.NotifyHandler().Payment().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("notify of %s: %d", id, rec.Code)
	}
}

func TestPresaleThroughTheRPC(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	c := r.client
	now := time.Now()
	ps := &tidev1.Presale{Id: "ps1", SkuId: "p1-a", PriceFen: 10000, DepositFen: 1000, DeductionFen: 1500, Allotment: 3, PerUserLimit: 1,
		DepositStartsAt: rfc(now.Add(-time.Hour)), DepositEndsAt: rfc(now.Add(time.Hour)), BalanceStartsAt: rfc(now.Add(time.Hour)), BalanceEndsAt: rfc(now.Add(2 * time.Hour))}
	created, err := c.CreateActivity(ctx, merchant("m1", &tidev1.CreateActivityRequest{Activity: &tidev1.Activity{Kind: &tidev1.Activity_Presale{Presale: ps}}}))
	if err != nil || created.Msg.GetActivity().GetPresale().GetRemaining() != 3 {
		t.Fatalf("create presale: %v %v", created, err)
	}
	items := []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 1}}
	_, err = c.Submit(ctx, user("u1", &tidev1.SubmitRequest{Items: items, PresaleId: "ps1", IdempotencyKey: "d", CouponId: "c95"}))
	code(t, err, connect.CodeInvalidArgument, "a coupon on a deposit")
	_, err = c.Submit(ctx, user("u1", &tidev1.SubmitRequest{Items: []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 2}}, PresaleId: "ps1", IdempotencyKey: "d2"}))
	code(t, err, connect.CodeResourceExhausted, "two units at a limit of one")
	sub, err := c.Submit(ctx, user("u1", &tidev1.SubmitRequest{Items: items, PresaleId: "ps1", IdempotencyKey: "d"}))
	if err != nil || sub.Msg.GetOrder().GetPayFen() != 1000 {
		t.Fatalf("deposit: %v %v", sub, err)
	}
	dep := sub.Msg.GetOrder().GetId()
	payByWeChat(t, r, "u1", dep)
	got, err := c.GetPresaleEntry(ctx, user("u1", &tidev1.GetPresaleEntryRequest{DepositOrderId: dep}))
	if err != nil || got.Msg.GetEntry().GetState() != "deposit_paid" || got.Msg.GetPresale().GetRemaining() != 2 {
		t.Fatalf("entry after the deposit: %v %v", got, err)
	}
	_, err = c.GetPresaleEntry(ctx, user("u2", &tidev1.GetPresaleEntryRequest{DepositOrderId: dep}))
	code(t, err, connect.CodeNotFound, "another user's entry")
	_, err = c.SubmitBalance(ctx, user("u1", &tidev1.SubmitBalanceRequest{DepositOrderId: dep, IdempotencyKey: "b"}))
	code(t, err, connect.CodeFailedPrecondition, "balance before its window")
	_, err = c.SubmitBalance(ctx, user("u1", &tidev1.SubmitBalanceRequest{DepositOrderId: dep}))
	code(t, err, connect.CodeInvalidArgument, "balance without a key")

	if _, err := r.store.Pool().Exec(ctx, `UPDATE presales SET deposit_starts_at = now() - interval '2 hours', deposit_ends_at = now() - interval '1 hour',
		balance_starts_at = now() - interval '1 hour' WHERE id = 'ps1'`); err != nil {
		t.Fatal(err)
	}
	bal, err := c.SubmitBalance(ctx, user("u1", &tidev1.SubmitBalanceRequest{DepositOrderId: dep, IdempotencyKey: "b"}))
	if err != nil || bal.Msg.GetOrder().GetPayFen() != 8500 || bal.Msg.GetOrder().GetDiscountFen() != 1500 {
		t.Fatalf("balance: %v %v", bal, err)
	}
	payByWeChat(t, r, "u1", bal.Msg.GetOrder().GetId())
	got, err = c.GetPresaleEntry(ctx, user("u1", &tidev1.GetPresaleEntryRequest{DepositOrderId: dep}))
	if err != nil || got.Msg.GetEntry().GetState() != "completed" || got.Msg.GetEntry().GetBalanceOrderId() != bal.Msg.GetOrder().GetId() {
		t.Fatalf("entry after the balance: %v %v", got, err)
	}
	_, err = c.Ship(ctx, merchant("m1", &tidev1.ShipRequest{OrderId: dep, TrackingNo: "YT1", ExpressCompany: "YTO"}))
	code(t, err, connect.CodeFailedPrecondition, "ship the deposit order")
	if _, err := c.Ship(ctx, merchant("m1", &tidev1.ShipRequest{OrderId: bal.Msg.GetOrder().GetId(), TrackingNo: "YT1", ExpressCompany: "YTO"})); err != nil {
		t.Fatalf("ship the balance order: %v", err)
	}

	// The merchant cancels: both payments are queued for refund.
	_, err = c.EndActivity(ctx, merchant("m2", &tidev1.EndActivityRequest{Kind: tidev1.ActivityKind_ACTIVITY_KIND_PRESALE, ActivityId: "ps1"}))
	code(t, err, connect.CodeNotFound, "another merchant ends the presale")
	if _, err := c.EndActivity(ctx, merchant("m1", &tidev1.EndActivityRequest{Kind: tidev1.ActivityKind_ACTIVITY_KIND_PRESALE, ActivityId: "ps1"})); err != nil {
		t.Fatal(err)
	}
	if n, err := r.payments.SendRefunds(ctx, 10); err != nil || n != 2 {
		t.Fatalf("refunds sent: %d %v, want 2", n, err)
	}
}

func TestMerchantActivities(t *testing.T) {
	r := newRig(t, servingcommerce.WithRoomOwner(func(_ context.Context, room string) (string, error) {
		return map[string]string{"r1": "m1", "r2": "m2"}[room], nil
	}))
	ctx := context.Background()
	c := r.client
	now := time.Now()
	fs := &tidev1.FlashSale{Id: "fs1", SkuId: "p1-a", PriceFen: 5000, StartsAt: rfc(now.Add(-time.Minute)), EndsAt: rfc(now.Add(time.Hour)), Allotment: 3, PerUserLimit: 1}
	create := func(m string, a *tidev1.Activity) error {
		_, err := c.CreateActivity(ctx, merchant(m, &tidev1.CreateActivityRequest{Activity: a}))
		return err
	}
	code(t, create("m2", &tidev1.Activity{Kind: &tidev1.Activity_FlashSale{FlashSale: fs}}), connect.CodePermissionDenied, "a flash sale of another merchant's sku")
	_, err := c.CreateActivity(ctx, user("u1", &tidev1.CreateActivityRequest{Activity: &tidev1.Activity{Kind: &tidev1.Activity_FlashSale{FlashSale: fs}}}))
	code(t, err, connect.CodePermissionDenied, "a user creates a flash sale")
	bad := &tidev1.FlashSale{Id: "fs2", SkuId: "p1-a", StartsAt: "tomorrow", EndsAt: rfc(now), Allotment: 1, PerUserLimit: 1}
	err = create("m1", &tidev1.Activity{Kind: &tidev1.Activity_FlashSale{FlashSale: bad}})
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !contains(err, "activity.flash_sale.starts_at") {
		t.Errorf("a bad start: %v", err)
	}
	if err := create("m1", &tidev1.Activity{Kind: &tidev1.Activity_FlashSale{FlashSale: fs}}); err != nil {
		t.Fatal(err)
	}
	gb := &tidev1.GroupBuy{Id: "gb1", SkuId: "p1-a", PriceFen: 6000, GroupSize: 2, WindowSeconds: 600, StartsAt: rfc(now.Add(-time.Minute)), EndsAt: rfc(now.Add(time.Hour))}
	if err := create("m1", &tidev1.Activity{Kind: &tidev1.Activity_GroupBuy{GroupBuy: gb}}); err != nil {
		t.Fatal(err)
	}
	ps := &tidev1.Presale{Id: "ps1", SkuId: "p1-a", PriceFen: 10000, DepositFen: 1000, DeductionFen: 900, Allotment: 3, PerUserLimit: 1,
		DepositStartsAt: rfc(now), DepositEndsAt: rfc(now.Add(time.Hour)), BalanceStartsAt: rfc(now.Add(time.Hour)), BalanceEndsAt: rfc(now.Add(2 * time.Hour))}
	err = create("m1", &tidev1.Activity{Kind: &tidev1.Activity_Presale{Presale: ps}})
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !contains(err, "activity.presale.deduction_fen") {
		t.Errorf("a deduction below the deposit: %v", err)
	}
	list, err := c.ListActivities(ctx, merchant("m1", &tidev1.ListActivitiesRequest{}))
	if err != nil || len(list.Msg.GetActivities()) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	if other, err := c.ListActivities(ctx, merchant("m2", &tidev1.ListActivitiesRequest{})); err != nil || len(other.Msg.GetActivities()) != 0 {
		t.Fatalf("another merchant's list: %v %v", other, err)
	}

	// Ending the flash sale: nobody buys from it, and its unsold units are the SKU's again.
	var stock int64
	_ = r.store.Pool().QueryRow(ctx, `SELECT stock FROM skus WHERE id = 'p1-a'`).Scan(&stock)
	if stock != 2 {
		t.Fatalf("sku stock %d with a flash sale of 3 out of 5", stock)
	}
	if _, err := c.EndActivity(ctx, merchant("m1", &tidev1.EndActivityRequest{Kind: tidev1.ActivityKind_ACTIVITY_KIND_FLASH_SALE, ActivityId: "fs1"})); err != nil {
		t.Fatal(err)
	}
	_ = r.store.Pool().QueryRow(ctx, `SELECT stock FROM skus WHERE id = 'p1-a'`).Scan(&stock)
	if stock != 5 {
		t.Fatalf("sku stock %d after ending the flash sale, want 5", stock)
	}
	_, err = c.Submit(ctx, user("u1", &tidev1.SubmitRequest{Items: []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 1}}, FlashSaleId: "fs1", IdempotencyKey: "f"}))
	if code := connect.CodeOf(err); code != connect.CodeResourceExhausted && code != connect.CodeFailedPrecondition {
		t.Fatalf("buying from an ended flash sale: %v", err)
	}
	if _, err := c.EndActivity(ctx, merchant("m1", &tidev1.EndActivityRequest{Kind: tidev1.ActivityKind_ACTIVITY_KIND_GROUP_BUY, ActivityId: "gb1"})); err != nil {
		t.Fatal(err)
	}
	_, err = c.Submit(ctx, user("u1", &tidev1.SubmitRequest{Items: []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 1}}, GroupBuyId: "gb1", IdempotencyKey: "g"}))
	code(t, err, connect.CodeFailedPrecondition, "opening a group of an ended group buy")
	_, err = c.EndActivity(ctx, merchant("m1", &tidev1.EndActivityRequest{ActivityId: "gb1"}))
	code(t, err, connect.CodeInvalidArgument, "end without a kind")

	// Promotions: the merchant's own rooms only, bad fields named.
	room := &tidev1.Promotion{Id: "room-200-20", Source: "room", RoomId: "r1", Kind: "tiered", Tiers: []*tidev1.PromotionTier{{ThresholdFen: 20000, OffFen: 2000}}, Stackable: true}
	if _, err := c.PutPromotion(ctx, merchant("m1", &tidev1.PutPromotionRequest{Promotion: room})); err != nil {
		t.Fatal(err)
	}
	room2 := &tidev1.Promotion{Id: "m1-in-r2", Source: "room", RoomId: "r2", Kind: "tiered", Tiers: []*tidev1.PromotionTier{{ThresholdFen: 100, OffFen: 10}}}
	_, err = c.PutPromotion(ctx, merchant("m1", &tidev1.PutPromotionRequest{Promotion: room2}))
	code(t, err, connect.CodePermissionDenied, "a promotion in another merchant's room")
	_, err = c.PutPromotion(ctx, merchant("m2", &tidev1.PutPromotionRequest{Promotion: &tidev1.Promotion{Id: "c95", Source: "coupon", Kind: "percent", PayBasisPoints: 1}}))
	code(t, err, connect.CodePermissionDenied, "replacing another merchant's coupon")
	_, err = c.PutPromotion(ctx, merchant("m1", &tidev1.PutPromotionRequest{Promotion: &tidev1.Promotion{Id: "pct", Source: "shop", Kind: "percent", PayBasisPoints: 10000}}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !contains(err, "pay_basis_points") {
		t.Errorf("a 100%% percent promotion: %v", err)
	}
	_, err = c.GrantCoupon(ctx, merchant("m2", &tidev1.GrantCouponRequest{PromotionId: "c95", UserId: "u2"}))
	code(t, err, connect.CodePermissionDenied, "granting another merchant's coupon")
	if _, err := c.GrantCoupon(ctx, merchant("m1", &tidev1.GrantCouponRequest{PromotionId: "c95", UserId: "u2"})); err != nil {
		t.Fatal(err)
	}
	ps2, err := c.ListPromotions(ctx, merchant("m1", &tidev1.ListPromotionsRequest{}))
	if err != nil || len(ps2.Msg.GetPromotions()) != 3 {
		t.Fatalf("promotions: %v %v", ps2, err)
	}
	// The rig's room promotion gives 10 off 100; this tier is newer, so r1 now gives 20 off 200.
	pv, err := c.Preview(ctx, user("u1", &tidev1.PreviewRequest{Items: []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 2}}, RoomId: "r1"}))
	if err != nil || pv.Msg.GetPrice().GetDiscountFen() != 2000 {
		t.Fatalf("preview with the new room promotion: %v %v", pv, err)
	}
	if _, err := c.EndPromotion(ctx, merchant("m1", &tidev1.EndPromotionRequest{PromotionId: "room-200-20"})); err != nil {
		t.Fatal(err)
	}
	pv, err = c.Preview(ctx, user("u1", &tidev1.PreviewRequest{Items: []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 2}}, RoomId: "r1"}))
	if err != nil || pv.Msg.GetPrice().GetDiscountFen() != 1000 {
		t.Fatalf("preview after the promotion ended: %v %v", pv, err)
	}
	_, err = c.EndPromotion(ctx, merchant("m2", &tidev1.EndPromotionRequest{PromotionId: "room-100-10"}))
	code(t, err, connect.CodeNotFound, "ending another merchant's promotion")
}

func contains(err error, s string) bool {
	var ce *connect.Error
	return errors.As(err, &ce) && len(s) > 0 && strings.Contains(ce.Message(), s)
}
