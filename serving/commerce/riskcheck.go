package commerce

import (
	"context"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/commerce/riskgate"
)

// WithRiskGate makes Submit ask gate (fraud rule R7, WeChat's risk rank)
// about every flash-sale or coupon order before anything else; a refusal
// is answered permission_denied with riskgate.Message.
func WithRiskGate(gate *riskgate.Gate) Option { return func(h *Handler) { h.risk = gate } }

// riskCheck is the gate's verdict on a Submit; nil without a gate.
func (h *Handler) riskCheck(ctx context.Context, userID string, req *connect.Request[tidev1.SubmitRequest]) error {
	if h.risk == nil {
		return nil
	}
	m := req.Msg
	return h.risk.Check(ctx, riskgate.Order{UserID: userID, FlashSaleID: m.GetFlashSaleId(), CouponID: m.GetCouponId(), RoomID: m.GetRoomId(),
		PeerAddr: req.Peer().Addr, Header: req.Header()})
}
