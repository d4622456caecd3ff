package commerce

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/postgres"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

func orderMessage(o order.Order) *tidev1.Order {
	m := &tidev1.Order{Id: o.ID, UserId: o.UserID, MerchantId: o.MerchantID, RoomId: o.RoomID, FlashSaleId: o.FlashSaleID,
		TotalFen: o.TotalFen, DiscountFen: o.DiscountFen, PayFen: o.PayFen, PayState: string(o.Pay), FulfilState: string(o.Fulfil),
		RefundState: string(o.Refund), TrackingNo: o.TrackingNo, ExpiresAt: stamp(o.ExpiresAt), CreatedAt: stamp(o.CreatedAt), PaidAt: stamp(o.PaidAt)}
	for _, l := range o.Lines {
		m.Lines = append(m.Lines, &tidev1.PricedLine{SkuId: l.SKUID, ProductId: l.ProductID, UnitFen: l.UnitFen, Quantity: l.Quantity,
			TotalFen: l.TotalFen, DiscountFen: l.DiscountFen, PayFen: l.PayFen})
	}
	return m
}

// withShipment adds the order's shipment and its WeChat upload, if it
// shipped.
func (h *Handler) withShipment(ctx context.Context, m *tidev1.Order) (*tidev1.Order, error) {
	s, ok, err := h.orders.Shipment(ctx, m.GetId())
	if err != nil || !ok {
		return m, err
	}
	m.Shipment = &tidev1.Shipment{Logistics: string(s.Logistics), ExpressCompany: s.ExpressCompany, TrackingNo: s.TrackingNo,
		UploadState: string(s.UploadState), UploadError: s.UploadError, UploadTries: int32(s.UploadTries), UploadedAt: stamp(s.UploadedAt)}
	return m, nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func listFilter(pageSize int32, before string) (postgres.ListFilter, error) {
	f := postgres.ListFilter{Limit: int(pageSize)}
	if pageSize < 0 || pageSize > 100 {
		return f, invalid("page_size", fmt.Sprintf("%d is not in 0..100", pageSize))
	}
	if before != "" {
		t, err := time.Parse(time.RFC3339Nano, before)
		if err != nil {
			return f, invalid("before", "not an RFC 3339 time")
		}
		f.Before = t
	}
	return f, nil
}

func orderID(id string) error {
	if id == "" {
		return invalid("order_id", "is empty")
	}
	return nil
}

// ListOrders implements CommerceService.ListOrders.
func (h *Handler) ListOrders(ctx context.Context, req *connect.Request[tidev1.ListOrdersRequest]) (*connect.Response[tidev1.ListOrdersResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	f, err := listFilter(req.Msg.GetPageSize(), req.Msg.GetBefore())
	if err != nil {
		return nil, err
	}
	f.UserID = p.UserID
	os, err := h.orders.List(ctx, f)
	if err != nil {
		return nil, h.fail("ListOrders", err)
	}
	res := &tidev1.ListOrdersResponse{}
	for _, o := range os {
		res.Orders = append(res.Orders, orderMessage(o))
	}
	return connect.NewResponse(res), nil
}

// GetOrder implements CommerceService.GetOrder.
func (h *Handler) GetOrder(ctx context.Context, req *connect.Request[tidev1.GetOrderRequest]) (*connect.Response[tidev1.GetOrderResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	if err := orderID(req.Msg.GetOrderId()); err != nil {
		return nil, err
	}
	o, err := h.orders.UserOrder(ctx, p.UserID, req.Msg.GetOrderId())
	if err != nil {
		return nil, h.fail("GetOrder", err)
	}
	m, err := h.withShipment(ctx, orderMessage(o))
	if err != nil {
		return nil, h.fail("GetOrder", err)
	}
	return connect.NewResponse(&tidev1.GetOrderResponse{Order: m}), nil
}

// CancelOrder implements CommerceService.CancelOrder.
func (h *Handler) CancelOrder(ctx context.Context, req *connect.Request[tidev1.CancelOrderRequest]) (*connect.Response[tidev1.CancelOrderResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	if err := orderID(req.Msg.GetOrderId()); err != nil {
		return nil, err
	}
	var closer postgres.PaymentCloser
	if h.payments != nil {
		closer = h.payments
	}
	ctx = h.withCallerFacts(ctx, req.Peer().Addr, req.Header())
	if err := h.orders.Cancel(ctx, p.UserID, req.Msg.GetOrderId(), closer); err != nil {
		return nil, h.fail("CancelOrder", err)
	}
	return connect.NewResponse(&tidev1.CancelOrderResponse{}), nil
}

// RequestRefund implements CommerceService.RequestRefund.
func (h *Handler) RequestRefund(ctx context.Context, req *connect.Request[tidev1.RequestRefundRequest]) (*connect.Response[tidev1.RequestRefundResponse], error) {
	p, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	if err := orderID(req.Msg.GetOrderId()); err != nil {
		return nil, err
	}
	if len(req.Msg.GetReason()) > 500 {
		return nil, invalid("reason", "more than 500 bytes")
	}
	if err := h.orders.RequestRefund(ctx, p.UserID, req.Msg.GetOrderId(), req.Msg.GetReason()); err != nil {
		return nil, h.fail("RequestRefund", err)
	}
	return connect.NewResponse(&tidev1.RequestRefundResponse{}), nil
}

// MerchantListOrders implements CommerceService.MerchantListOrders.
func (h *Handler) MerchantListOrders(ctx context.Context, req *connect.Request[tidev1.MerchantListOrdersRequest]) (*connect.Response[tidev1.MerchantListOrdersResponse], error) {
	p, err := requireMerchant(ctx)
	if err != nil {
		return nil, err
	}
	f, err := listFilter(req.Msg.GetPageSize(), req.Msg.GetBefore())
	if err != nil {
		return nil, err
	}
	f.MerchantID = p.MerchantID
	os, err := h.orders.List(ctx, f)
	if err != nil {
		return nil, h.fail("MerchantListOrders", err)
	}
	res := &tidev1.MerchantListOrdersResponse{}
	for _, o := range os {
		res.Orders = append(res.Orders, orderMessage(o))
	}
	return connect.NewResponse(res), nil
}

// MerchantGetOrder implements CommerceService.MerchantGetOrder.
func (h *Handler) MerchantGetOrder(ctx context.Context, req *connect.Request[tidev1.MerchantGetOrderRequest]) (*connect.Response[tidev1.MerchantGetOrderResponse], error) {
	p, err := requireMerchant(ctx)
	if err != nil {
		return nil, err
	}
	if err := orderID(req.Msg.GetOrderId()); err != nil {
		return nil, err
	}
	o, err := h.orders.MerchantOrder(ctx, p.MerchantID, req.Msg.GetOrderId())
	if err != nil {
		return nil, h.fail("MerchantGetOrder", err)
	}
	m, err := h.withShipment(ctx, orderMessage(o))
	if err != nil {
		return nil, h.fail("MerchantGetOrder", err)
	}
	return connect.NewResponse(&tidev1.MerchantGetOrderResponse{Order: m}), nil
}

// Ship implements CommerceService.Ship.
func (h *Handler) Ship(ctx context.Context, req *connect.Request[tidev1.ShipRequest]) (*connect.Response[tidev1.ShipResponse], error) {
	p, err := requireMerchant(ctx)
	if err != nil {
		return nil, err
	}
	if err := orderID(req.Msg.GetOrderId()); err != nil {
		return nil, err
	}
	m := req.Msg
	sh := commerce.Shipment{Logistics: commerce.Logistics(m.GetLogistics()), ExpressCompany: m.GetExpressCompany(), TrackingNo: m.GetTrackingNo(), ReceiverContact: m.GetReceiverContact()}
	if err := h.orders.Ship(ctx, p.MerchantID, m.GetOrderId(), sh); err != nil {
		return nil, h.fail("Ship", err)
	}
	return connect.NewResponse(&tidev1.ShipResponse{}), nil
}

// DecideRefund implements CommerceService.DecideRefund.
func (h *Handler) DecideRefund(ctx context.Context, req *connect.Request[tidev1.DecideRefundRequest]) (*connect.Response[tidev1.DecideRefundResponse], error) {
	p, err := requireMerchant(ctx)
	if err != nil {
		return nil, err
	}
	if err := orderID(req.Msg.GetOrderId()); err != nil {
		return nil, err
	}
	if err := h.orders.DecideRefund(ctx, p.MerchantID, req.Msg.GetOrderId(), req.Msg.GetApprove(), req.Msg.GetNote()); err != nil {
		return nil, h.fail("DecideRefund", err)
	}
	return connect.NewResponse(&tidev1.DecideRefundResponse{}), nil
}
