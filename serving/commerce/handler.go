// Package commerce serves CommerceService: the mini-program's cart,
// checkout, payment and orders, and the merchant's order handling, over
// commerce/postgres, commerce/pricing and commerce/checkout. Every call is
// scoped by the caller's credentials (serving/auth), never by ids in the
// request body.
package commerce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce/checkout"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/pricing"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/callerfacts"
	"github.com/tide-live/tide/serving/commerce/riskgate"
)

// Promotions finds the promotions that may apply to a user's order of a
// merchant in a room (with the coupon the user chose, if any), and the
// user's past use of them (commerce/postgres.Store.Promotions).
type Promotions func(ctx context.Context, userID, merchantID, roomID, couponID string) ([]pricing.Promotion, pricing.Usage, error)

// OpenIDOf finds the WeChat openid of the calling user (the payer of a
// JSAPI prepay) from the wx.login code the client sent with Pay; it must
// refuse a code of another user.
type OpenIDOf func(ctx context.Context, userID, loginCode string) (string, error)

// Handler implements CommerceService.
type Handler struct {
	tidev1connect.UnimplementedCommerceServiceHandler
	store      *postgres.Store
	orders     *postgres.Orders
	seller     *postgres.FlashSeller
	payments   *checkout.Payments
	promotions Promotions
	openID     OpenIDOf
	roomOwner  RoomOwner
	facts      *callerfacts.Stamper
	risk       *riskgate.Gate
	log        *slog.Logger
	now        func() time.Time
}

// Option configures a Handler.
type Option func(*Handler)

// WithPayments enables Pay (without it Pay answers unavailable); openID
// finds the payer's openid.
func WithPayments(p *checkout.Payments, openID OpenIDOf) Option {
	return func(h *Handler) { h.payments, h.openID = p, openID }
}

// WithPromotions sets where promotions come from (default: none).
func WithPromotions(p Promotions) Option { return func(h *Handler) { h.promotions = p } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// NewHandler returns CommerceService over the store, its orders and its
// flash seller.
func NewHandler(store *postgres.Store, orders *postgres.Orders, seller *postgres.FlashSeller, opts ...Option) *Handler {
	h := &Handler{store: store, orders: orders, seller: seller, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Mount returns the service's path and HTTP handler. Responses under 1 KiB
// (a submitted order, say) are sent uncompressed: gzip costs more CPU than
// it saves on them, and a flash-sale storm is thousands of them a second.
func (h *Handler) Mount(opts ...connect.HandlerOption) (string, http.Handler) {
	return tidev1connect.NewCommerceServiceHandler(h, append([]connect.HandlerOption{connect.WithCompressMinBytes(1 << 10)}, opts...)...)
}

func (h *Handler) fail(procedure string, err error) error { return connectError(h.log, procedure, err) }

func invalid(field, reason string) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%s: %s", field, reason))
}

// SetCartItem implements CommerceService.SetCartItem.
func (h *Handler) SetCartItem(ctx context.Context, req *connect.Request[tidev1.SetCartItemRequest]) (*connect.Response[tidev1.SetCartItemResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	if req.Msg.GetSkuId() == "" {
		return nil, invalid("sku_id", "is empty")
	}
	if err := h.store.SetCartItem(ctx, p.UserID, req.Msg.GetSkuId(), req.Msg.GetQuantity()); err != nil {
		return nil, h.fail("SetCartItem", err)
	}
	return connect.NewResponse(&tidev1.SetCartItemResponse{}), nil
}

// Cart implements CommerceService.Cart.
func (h *Handler) Cart(ctx context.Context, _ *connect.Request[tidev1.CartRequest]) (*connect.Response[tidev1.CartResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	items, err := h.store.Cart(ctx, p.UserID)
	if err != nil {
		return nil, h.fail("Cart", err)
	}
	res := &tidev1.CartResponse{}
	for _, it := range items {
		res.Items = append(res.Items, &tidev1.LineItem{SkuId: it.SKUID, Quantity: it.Quantity})
	}
	return connect.NewResponse(res), nil
}

// Preview implements CommerceService.Preview: the same pricing as Submit.
func (h *Handler) Preview(ctx context.Context, req *connect.Request[tidev1.PreviewRequest]) (*connect.Response[tidev1.PreviewResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := h.price(ctx, p.UserID, req.Msg.GetItems(), req.Msg.GetRoomId(), req.Msg.GetFlashSaleId(), req.Msg.GetCouponId())
	if err != nil {
		return nil, h.fail("Preview", err)
	}
	return connect.NewResponse(&tidev1.PreviewResponse{Price: priceMessage(pr)}), nil
}

// Submit implements CommerceService.Submit.
func (h *Handler) Submit(ctx context.Context, req *connect.Request[tidev1.SubmitRequest]) (*connect.Response[tidev1.SubmitResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	key := req.Msg.GetIdempotencyKey()
	if key == "" || len(key) > 64 {
		return nil, invalid("idempotency_key", "needs 1 to 64 characters, one per checkout")
	}
	if err := h.riskCheck(ctx, p.UserID, req); err != nil {
		return nil, err
	}
	ctx = h.withCallerFacts(ctx, req.Peer().Addr, req.Header())
	if req.Msg.GetPresaleId() != "" {
		return h.submitDeposit(ctx, p.UserID, key, req.Msg)
	}
	if gb := req.Msg.GetGroupBuyId(); gb != "" {
		return h.submitGroup(ctx, p.UserID, key, req.Msg)
	}
	pr, err := h.price(ctx, p.UserID, req.Msg.GetItems(), req.Msg.GetRoomId(), req.Msg.GetFlashSaleId(), req.Msg.GetCouponId())
	if err != nil {
		return nil, h.fail("Submit", err)
	}
	o, created, err := h.orders.Submit(ctx, pr.order(p.UserID, key))
	if err != nil {
		return nil, h.fail("Submit", err)
	}
	return connect.NewResponse(&tidev1.SubmitResponse{Order: orderMessage(o), Created: created}), nil
}

// submitGroup submits a group-buy order: one item at the group price.
func (h *Handler) submitGroup(ctx context.Context, userID, key string, m *tidev1.SubmitRequest) (*connect.Response[tidev1.SubmitResponse], error) {
	if m.GetFlashSaleId() != "" || m.GetCouponId() != "" {
		return nil, invalid("group_buy_id", "a group buy takes no flash sale or coupon")
	}
	g, err := h.store.GroupBuy(ctx, m.GetGroupBuyId())
	if err != nil {
		return nil, h.fail("Submit", err)
	}
	items := m.GetItems()
	if len(items) != 1 || items[0].GetSkuId() != g.SKUID {
		return nil, invalid("items", fmt.Sprintf("group buy %s sells one item: SKU %s", g.ID, g.SKUID))
	}
	pr, err := h.price(ctx, userID, items, m.GetRoomId(), "", "")
	if err != nil {
		return nil, h.fail("Submit", err)
	}
	pq, err := pricing.Price(pricing.Request{Lines: []pricing.Line{{SKUID: g.SKUID, UnitFen: g.PriceFen, Quantity: items[0].GetQuantity()}}, At: h.now()})
	if err != nil {
		return nil, h.fail("Submit", err)
	}
	pr.quote = pq
	o, group, created, err := h.orders.SubmitGroup(ctx, pr.order(userID, key), g.ID, m.GetGroupId())
	if err != nil {
		return nil, h.fail("Submit", err)
	}
	return connect.NewResponse(&tidev1.SubmitResponse{Order: orderMessage(o), Created: created, GroupId: group}), nil
}

// Pay implements CommerceService.Pay.
func (h *Handler) Pay(ctx context.Context, req *connect.Request[tidev1.PayRequest]) (*connect.Response[tidev1.PayResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	if h.payments == nil || h.openID == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("payments are not configured on this server"))
	}
	id := req.Msg.GetOrderId()
	if id == "" {
		return nil, invalid("order_id", "is empty")
	}
	o, err := h.orders.UserOrder(ctx, p.UserID, id)
	if err != nil {
		return nil, h.fail("Pay", err)
	}
	openID, err := h.openID(ctx, p.UserID, req.Msg.GetLoginCode())
	if err != nil {
		return nil, h.fail("Pay", err)
	}
	rp, err := h.payments.Pay(ctx, p.UserID, id, openID, "tide "+o.ID)
	if err != nil {
		return nil, h.fail("Pay", err)
	}
	return connect.NewResponse(&tidev1.PayResponse{TimeStamp: rp.TimeStamp, NonceStr: rp.NonceStr, Package: rp.Package, SignType: rp.SignType,
		PaySign: rp.PaySign, ExpiresAt: o.ExpiresAt.Format(time.RFC3339)}), nil
}
