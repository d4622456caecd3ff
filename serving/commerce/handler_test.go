package commerce_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/checkout"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/commerce/pricing"
	"github.com/tide-live/tide/commerce/wechatpay"
	"github.com/tide-live/tide/commerce/wechatpay/wechatpaytest"
	"github.com/tide-live/tide/ingest/outbox"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/callerfacts"
	servingcommerce "github.com/tide-live/tide/serving/commerce"
)

// asCaller stands in for serving/auth's interceptor: the test names the
// caller in a header.
func asCaller() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if u := req.Header().Get("X-Test-User"); u != "" {
				ctx = auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleUser, UserID: u, AccountCreated: accountCreated})
			}
			if m := req.Header().Get("X-Test-Merchant"); m != "" {
				ctx = auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleMerchant, MerchantID: m})
			}
			return next(ctx, req)
		}
	}
}

// accountCreated is when every test user's account was created.
var accountCreated = time.UnixMilli(1_764_000_000_000)

type rig struct {
	client   tidev1connect.CommerceServiceClient
	facts    *callerfacts.Stamper
	url      string
	fake     *wechatpaytest.Server
	payments *checkout.Payments
	store    *postgres.Store
	orders   *postgres.Orders
}

func newRig(t *testing.T, opts ...servingcommerce.Option) *rig {
	t.Helper()
	ctx := context.Background()
	s, _ := pgtest.Store(t)
	if err := outbox.Migrate(ctx, s.Pool(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []commerce.Product{
		{ID: "p1", MerchantID: "m1", Title: "T恤", Status: commerce.OnShelf, PriceFen: 10000},
		{ID: "p2", MerchantID: "m2", Title: "别家", Status: commerce.OnShelf, PriceFen: 500},
	} {
		if _, err := s.WriteProducts(ctx, []commerce.Product{p}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSKUs(ctx, p.ID, []commerce.SKU{{ID: p.ID + "-a", PriceFen: p.PriceFen, Stock: 5}}); err != nil {
			t.Fatal(err)
		}
	}
	seller := s.NewFlashSeller()
	orders := s.Orders(seller, servingcommerce.StampCallerFacts(func(ctx context.Context, ex postgres.Execer, evs ...*tidev1.Event) error {
		return outbox.Add(ctx, ex, evs...)
	}), postgres.WithEventStamper(servingcommerce.StampFacts))
	facts, err := callerfacts.New(nil, []byte("the test's sixteen-plus byte key"))
	if err != nil {
		t.Fatal(err)
	}
	fake := wechatpaytest.NewServer(t)
	wc, err := wechatpay.New(fake.Config("https://tide.example/notify", "https://tide.example/refund"))
	if err != nil {
		t.Fatal(err)
	}
	payments := checkout.NewPayments(orders, wc, slog.New(slog.DiscardHandler))
	if err := s.PutPromotion(ctx, "m1", "r1", pricing.Promotion{ID: "room-100-10", Source: pricing.Room, Kind: pricing.Tiered,
		Tiers: []pricing.Tier{{ThresholdFen: 10000, OffFen: 1000}}, Stackable: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPromotion(ctx, "m1", "", pricing.Promotion{ID: "c95", Source: pricing.Coupon, Kind: pricing.Percent, PayBasisPoints: 9500, PerUserLimit: 1, Stackable: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.GrantCoupon(ctx, "c95", "u1"); err != nil {
		t.Fatal(err)
	}
	h := servingcommerce.NewHandler(s, orders, seller, append([]servingcommerce.Option{
		servingcommerce.WithPayments(payments, func(_ context.Context, u, code string) (string, error) { return "openid-" + u + code, nil }),
		servingcommerce.WithPromotions(s.Promotions), servingcommerce.WithLogger(slog.New(slog.DiscardHandler)),
		servingcommerce.WithCallerFacts(facts)}, opts...)...)
	mux := http.NewServeMux()
	mux.Handle(h.Mount(connect.WithInterceptors(asCaller())))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &rig{client: tidev1connect.NewCommerceServiceClient(srv.Client(), srv.URL), url: srv.URL, facts: facts, fake: fake, payments: payments, store: s, orders: orders}
}

func as[T any](header, id string, m *T) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set(header, id)
	return r
}

func user[T any](id string, m *T) *connect.Request[T]     { return as("X-Test-User", id, m) }
func merchant[T any](id string, m *T) *connect.Request[T] { return as("X-Test-Merchant", id, m) }

func code(t *testing.T, err error, want connect.Code, what string) {
	t.Helper()
	if connect.CodeOf(err) != want {
		t.Errorf("%s: %v, want %s", what, err, want)
	}
}

func TestCheckoutThroughTheRPC(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	c := r.client

	if _, err := c.SetCartItem(ctx, user("u1", &tidev1.SetCartItemRequest{SkuId: "p1-a", Quantity: 2})); err != nil {
		t.Fatal(err)
	}
	cart, err := c.Cart(ctx, user("u1", &tidev1.CartRequest{}))
	if err != nil || len(cart.Msg.GetItems()) != 1 || cart.Msg.GetItems()[0].GetQuantity() != 2 {
		t.Fatalf("cart: %v %v", cart, err)
	}
	items := []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 2}}
	pv, err := c.Preview(ctx, user("u1", &tidev1.PreviewRequest{Items: items, RoomId: "r1"}))
	if err != nil || pv.Msg.GetPrice().GetPayFen() != 19000 || pv.Msg.GetPrice().GetTotalFen() != 20000 {
		t.Fatalf("preview: %v %v", pv, err)
	}
	withCoupon, err := c.Preview(ctx, user("u1", &tidev1.PreviewRequest{Items: items, RoomId: "r1", CouponId: "c95"}))
	if err != nil || withCoupon.Msg.GetPrice().GetPayFen() != 18050 { // (20000-1000) × 0.95
		t.Fatalf("preview with a coupon: %v %v", withCoupon, err)
	}
	_, err = c.Preview(ctx, user("u2", &tidev1.PreviewRequest{Items: items, CouponId: "c95"}))
	code(t, err, connect.CodeInvalidArgument, "a coupon the user does not hold")
	sub, err := c.Submit(ctx, user("u1", &tidev1.SubmitRequest{Items: items, RoomId: "r1", IdempotencyKey: "tap-1"}))
	if err != nil || !sub.Msg.GetCreated() || sub.Msg.GetOrder().GetPayFen() != pv.Msg.GetPrice().GetPayFen() {
		t.Fatalf("submit: %v %v (preview and submit must agree)", sub, err)
	}
	id := sub.Msg.GetOrder().GetId()
	again, err := c.Submit(ctx, user("u1", &tidev1.SubmitRequest{Items: items, IdempotencyKey: "tap-1"}))
	if err != nil || again.Msg.GetCreated() || again.Msg.GetOrder().GetId() != id {
		t.Fatalf("double tap: %v %v", again, err)
	}

	// Scoping and roles.
	_, err = c.GetOrder(ctx, user("u2", &tidev1.GetOrderRequest{OrderId: id}))
	code(t, err, connect.CodeNotFound, "another user's order")
	_, err = c.MerchantGetOrder(ctx, merchant("m2", &tidev1.MerchantGetOrderRequest{OrderId: id}))
	code(t, err, connect.CodeNotFound, "another merchant's order")
	_, err = c.Ship(ctx, merchant("m2", &tidev1.ShipRequest{OrderId: id, TrackingNo: "YT1", ExpressCompany: "YTO"}))
	code(t, err, connect.CodeNotFound, "another merchant ships")
	_, err = c.Submit(ctx, merchant("m1", &tidev1.SubmitRequest{Items: items, IdempotencyKey: "x"}))
	code(t, err, connect.CodePermissionDenied, "a merchant submits")
	_, err = c.MerchantListOrders(ctx, user("u1", &tidev1.MerchantListOrdersRequest{}))
	code(t, err, connect.CodePermissionDenied, "a user lists merchant orders")
	_, err = c.Cart(ctx, connect.NewRequest(&tidev1.CartRequest{}))
	code(t, err, connect.CodeUnauthenticated, "no credentials")

	// Bad input names the field.
	_, err = c.Submit(ctx, user("u1", &tidev1.SubmitRequest{Items: items}))
	code(t, err, connect.CodeInvalidArgument, "no idempotency key")
	_, err = c.Submit(ctx, user("u1", &tidev1.SubmitRequest{Items: []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 9}}, IdempotencyKey: "big"}))
	code(t, err, connect.CodeResourceExhausted, "more than the stock")
	_, err = c.Preview(ctx, user("u1", &tidev1.PreviewRequest{Items: []*tidev1.LineItem{{SkuId: "nope", Quantity: 1}}}))
	code(t, err, connect.CodeNotFound, "unknown sku")
	_, err = c.Preview(ctx, user("u1", &tidev1.PreviewRequest{Items: []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 1}, {SkuId: "p2-a", Quantity: 1}}}))
	code(t, err, connect.CodeInvalidArgument, "two merchants in one order")

	// Pay, the notify, ship, refund.
	pay, err := c.Pay(ctx, user("u1", &tidev1.PayRequest{OrderId: id, LoginCode: "c1"}))
	if err != nil || pay.Msg.GetPaySign() == "" || pay.Msg.GetSignType() != "RSA" {
		t.Fatalf("pay: %v %v", pay, err)
	}
	_, err = c.Ship(ctx, merchant("m1", &tidev1.ShipRequest{OrderId: id, TrackingNo: "YT1", ExpressCompany: "YTO"}))
	code(t, err, connect.CodeFailedPrecondition, "ship before payment")
	body, err := r.fake.Pay(id + "_1")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := r.fake.NotifyRequest("https://tide.example/notify", body, time.Now(), false)
	rec := httptest.NewRecorder()
	r.payments.NotifyHandler().Payment().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("notify: %d", rec.Code)
	}
	_, err = c.CancelOrder(ctx, user("u1", &tidev1.CancelOrderRequest{OrderId: id}))
	code(t, err, connect.CodeFailedPrecondition, "cancel a paid order")
	_, err = c.Ship(ctx, merchant("m1", &tidev1.ShipRequest{OrderId: id, TrackingNo: "SF1234567"}))
	code(t, err, connect.CodeInvalidArgument, "ship without an express company")
	if !contains(err, "express_company") {
		t.Errorf("ship without an express company: %v, want the field named", err)
	}
	_, err = c.Ship(ctx, merchant("m1", &tidev1.ShipRequest{OrderId: id, TrackingNo: "SF1234567", ExpressCompany: "SF"}))
	code(t, err, connect.CodeInvalidArgument, "SF without the receiver's masked phone")
	if _, err := c.Ship(ctx, merchant("m1", &tidev1.ShipRequest{OrderId: id, TrackingNo: "SF1234567", ExpressCompany: "SF", ReceiverContact: "139****2901"})); err != nil {
		t.Fatal(err)
	}
	// The shipment and its pending WeChat upload show on the order, to both sides.
	mo, err := c.MerchantGetOrder(ctx, merchant("m1", &tidev1.MerchantGetOrderRequest{OrderId: id}))
	if sh := mo.Msg.GetOrder().GetShipment(); err != nil || sh.GetExpressCompany() != "SF" || sh.GetTrackingNo() != "SF1234567" || sh.GetUploadState() != "pending" || sh.GetLogistics() != "express" {
		t.Fatalf("merchant's order after ship: %v %v", mo, err)
	}
	uo, err := c.GetOrder(ctx, user("u1", &tidev1.GetOrderRequest{OrderId: id}))
	if err != nil || uo.Msg.GetOrder().GetShipment().GetUploadState() != "pending" {
		t.Fatalf("buyer's order after ship: %v %v", uo, err)
	}
	if _, err := c.RequestRefund(ctx, user("u1", &tidev1.RequestRefundRequest{OrderId: id, Reason: "尺码不合适"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DecideRefund(ctx, merchant("m1", &tidev1.DecideRefundRequest{OrderId: id, Approve: true, Note: "同意"})); err != nil {
		t.Fatal(err)
	}
	if n, err := r.payments.SendRefunds(ctx, 10); err != nil || n != 1 {
		t.Fatalf("send refunds: %d %v", n, err)
	}
	rb, _ := r.fake.RefundNotifyBody("r"+id+"_1", "SUCCESS")
	req, _ = r.fake.NotifyRequest("https://tide.example/refund", rb, time.Now(), false)
	rec = httptest.NewRecorder()
	r.payments.NotifyHandler().Refund().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("refund notify: %d", rec.Code)
	}
	got, err := c.MerchantGetOrder(ctx, merchant("m1", &tidev1.MerchantGetOrderRequest{OrderId: id}))
	if err != nil {
		t.Fatal(err)
	}
	o := got.Msg.GetOrder()
	if o.GetPayState() != "paid" || o.GetFulfilState() != "shipped" || o.GetRefundState() != "refunded" || o.GetTrackingNo() != "SF1234567" {
		t.Fatalf("order after refund: %v", o)
	}
	list, err := c.ListOrders(ctx, user("u1", &tidev1.ListOrdersRequest{}))
	if err != nil || len(list.Msg.GetOrders()) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	var n int
	if err := r.store.Pool().QueryRow(ctx, `SELECT count(*) FROM event_outbox WHERE event_type IN ('order_created', 'order_paid', 'order_refunded')`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d order events (%v), want created, paid, refunded", n, err)
	}
}

func TestGroupBuyThroughTheRPC(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	now := time.Now()
	if err := r.store.CreateGroupBuy(ctx, commerce.GroupBuy{ID: "gb", MerchantID: "m1", SKUID: "p1-a", PriceFen: 5000, GroupSize: 2, Window: time.Hour,
		StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	items := []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 1}}
	open, err := r.client.Submit(ctx, user("u1", &tidev1.SubmitRequest{Items: items, GroupBuyId: "gb", IdempotencyKey: "g1"}))
	if err != nil || open.Msg.GetGroupId() == "" || open.Msg.GetOrder().GetPayFen() != 5000 {
		t.Fatalf("open a group: %v %v", open, err)
	}
	join, err := r.client.Submit(ctx, user("u2", &tidev1.SubmitRequest{Items: items, GroupBuyId: "gb", GroupId: open.Msg.GetGroupId(), IdempotencyKey: "g1"}))
	if err != nil || join.Msg.GetGroupId() != open.Msg.GetGroupId() {
		t.Fatalf("join: %v %v", join, err)
	}
	_, err = r.client.Submit(ctx, user("u3", &tidev1.SubmitRequest{Items: items, GroupBuyId: "gb", GroupId: open.Msg.GetGroupId(), IdempotencyKey: "g1"}))
	code(t, err, connect.CodeFailedPrecondition, "joining a full group")
	_, err = r.client.Submit(ctx, user("u3", &tidev1.SubmitRequest{Items: items, GroupBuyId: "gb", CouponId: "c95", IdempotencyKey: "g2"}))
	code(t, err, connect.CodeInvalidArgument, "a coupon on a group buy")
}
