package wechatpay

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/tide-live/tide/commerce"
)

// ParsePaymentNotify verifies a payment notify (signature with the platform
// public key, timestamp within five minutes), decrypts its resource and
// returns the payment. r must be the request as the server received it,
// body unread.
func (c *Client) ParsePaymentNotify(ctx context.Context, r *http.Request) (Payment, error) {
	var tx payments.Transaction
	n, err := c.notify.ParseNotifyRequest(ctx, r, &tx)
	if err != nil {
		return Payment{}, fmt.Errorf("wechatpay payment notify: %w", err)
	}
	if n.EventType != "TRANSACTION.SUCCESS" {
		return Payment{}, fmt.Errorf("wechatpay payment notify: unexpected event %s (%s)", n.EventType, n.Resource.OriginalType)
	}
	if tx.Mchid != nil && *tx.Mchid != c.cfg.MchID {
		return Payment{}, fmt.Errorf("wechatpay payment notify: mchid %s is not ours", *tx.Mchid)
	}
	return paymentOf(&tx)
}

// RefundRequest refunds AmountFen of an attempt paid TotalFen.
type RefundRequest struct {
	OutTradeNo  string
	OutRefundNo string
	AmountFen   int64
	TotalFen    int64
	Reason      string
}

// RefundResult is WeChat Pay's answer to a refund: Status is SUCCESS,
// CLOSED, PROCESSING or ABNORMAL.
type RefundResult struct {
	OutRefundNo string
	RefundID    string
	Status      string
}

// Refund asks WeChat Pay to refund; the same OutRefundNo is one refund
// however often it is sent.
func (c *Client) Refund(ctx context.Context, r RefundRequest) (RefundResult, error) {
	if r.OutTradeNo == "" || r.OutRefundNo == "" || r.AmountFen <= 0 || r.AmountFen > r.TotalFen {
		return RefundResult{}, &commerce.FieldError{Field: "refund", Reason: "needs out_trade_no, out_refund_no and 0 < amount ≤ total"}
	}
	resp, _, err := c.refunds.Create(ctx, refunddomestic.CreateRequest{
		OutTradeNo:  core.String(r.OutTradeNo),
		OutRefundNo: core.String(r.OutRefundNo),
		Reason:      core.String(r.Reason),
		NotifyUrl:   core.String(c.cfg.RefundNotifyURL),
		Amount:      &refunddomestic.AmountReq{Refund: core.Int64(r.AmountFen), Total: core.Int64(r.TotalFen), Currency: core.String("CNY")},
	})
	if err != nil {
		return RefundResult{}, fmt.Errorf("wechatpay refund %s: %w", r.OutRefundNo, err)
	}
	res := RefundResult{OutRefundNo: deref(resp.OutRefundNo), RefundID: deref(resp.RefundId)}
	if resp.Status != nil {
		res.Status = string(*resp.Status)
	}
	return res, nil
}

// RefundNotice is the decrypted resource of a refund notify (the SDK has no
// model for it).
type RefundNotice struct {
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	OutRefundNo   string `json:"out_refund_no"`
	RefundID      string `json:"refund_id"`
	RefundStatus  string `json:"refund_status"` // SUCCESS, CLOSED, ABNORMAL
	SuccessTime   string `json:"success_time"`
	Amount        struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// Succeeded says whether the money went back.
func (n RefundNotice) Succeeded() bool { return n.RefundStatus == "SUCCESS" }

// RefundedAt is the success time, zero when absent.
func (n RefundNotice) RefundedAt() time.Time {
	t, err := time.Parse(time.RFC3339, n.SuccessTime)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// ParseRefundNotify verifies and decrypts a refund notify
// (REFUND.SUCCESS, REFUND.ABNORMAL or REFUND.CLOSED).
func (c *Client) ParseRefundNotify(ctx context.Context, r *http.Request) (RefundNotice, error) {
	var rn RefundNotice
	n, err := c.notify.ParseNotifyRequest(ctx, r, &rn)
	if err != nil {
		return RefundNotice{}, fmt.Errorf("wechatpay refund notify: %w", err)
	}
	switch n.EventType {
	case "REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED":
	default:
		return RefundNotice{}, fmt.Errorf("wechatpay refund notify: unexpected event %s", n.EventType)
	}
	if rn.MchID != "" && rn.MchID != c.cfg.MchID {
		return RefundNotice{}, fmt.Errorf("wechatpay refund notify: mchid %s is not ours", rn.MchID)
	}
	if rn.OutRefundNo == "" || rn.RefundStatus == "" {
		return RefundNotice{}, fmt.Errorf("wechatpay refund notify: no out_refund_no or refund_status")
	}
	return rn, nil
}
