package wechatpay

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
)

// NotifyHandler serves WeChat Pay's payment and refund notifies: it
// verifies and decrypts each, hands it to its callback and answers — 200
// once the callback has recorded it (WeChat Pay stops retrying), 401 for a
// notify that fails verification (forged, or older than five minutes), 500
// when recording failed (WeChat Pay retries). Callbacks must be idempotent:
// the same notify arrives repeatedly and from several senders at once.
type NotifyHandler struct {
	client   *Client
	onPaid   func(context.Context, Payment) error
	onRefund func(context.Context, RefundNotice) error
	log      *slog.Logger
}

// NewNotifyHandler returns the handler; mount Payment and Refund on the
// NotifyURL and RefundNotifyURL paths.
func NewNotifyHandler(c *Client, onPaid func(context.Context, Payment) error, onRefund func(context.Context, RefundNotice) error, log *slog.Logger) *NotifyHandler {
	if log == nil {
		log = slog.Default()
	}
	return &NotifyHandler{client: c, onPaid: onPaid, onRefund: onRefund, log: log}
}

// Payment handles payment notifies.
func (h *NotifyHandler) Payment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.client.ParsePaymentNotify(r.Context(), r)
		if err != nil {
			h.log.Warn("wechatpay: refused payment notify", "remote", r.RemoteAddr, "err", short(err))
			answer(w, http.StatusUnauthorized, "FAIL", "verification failed")
			return
		}
		if !p.Paid() {
			answer(w, http.StatusOK, "SUCCESS", "not paid: nothing to record")
			return
		}
		if err := h.onPaid(r.Context(), p); err != nil {
			h.log.Error("wechatpay: payment notify not recorded", "out_trade_no", p.OutTradeNo, "err", err)
			answer(w, http.StatusInternalServerError, "FAIL", "not recorded")
			return
		}
		answer(w, http.StatusOK, "SUCCESS", "成功")
	})
}

// Refund handles refund notifies.
func (h *NotifyHandler) Refund() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := h.client.ParseRefundNotify(r.Context(), r)
		if err != nil {
			h.log.Warn("wechatpay: refused refund notify", "remote", r.RemoteAddr, "err", short(err))
			answer(w, http.StatusUnauthorized, "FAIL", "verification failed")
			return
		}
		if err := h.onRefund(r.Context(), n); err != nil {
			h.log.Error("wechatpay: refund notify not recorded", "out_refund_no", n.OutRefundNo, "err", err)
			answer(w, http.StatusInternalServerError, "FAIL", "not recorded")
			return
		}
		answer(w, http.StatusOK, "SUCCESS", "成功")
	})
}

func answer(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

// short cuts the SDK's verification errors, which print the whole request.
func short(err error) string {
	s := err.Error()
	if i := strings.Index(s, ", request: &{"); i > 0 {
		s = s[:i]
	}
	return s
}
