package wechatpaytest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "PARAM_ERROR", err.Error())
		return
	}
	if err := s.checkAuth(r, body); err != nil {
		s.fail(w, http.StatusUnauthorized, "SIGN_ERROR", err.Error())
		return
	}
	const byNo = "/v3/pay/transactions/out-trade-no/"
	switch p := r.URL.Path; {
	case r.Method == http.MethodPost && p == "/v3/pay/transactions/jsapi":
		s.prepay(w, body)
	case r.Method == http.MethodPost && strings.HasPrefix(p, byNo) && strings.HasSuffix(p, "/close"):
		s.closeOrder(w, strings.TrimSuffix(strings.TrimPrefix(p, byNo), "/close"))
	case r.Method == http.MethodGet && strings.HasPrefix(p, byNo):
		s.query(w, strings.TrimPrefix(p, byNo))
	case r.Method == http.MethodPost && p == "/v3/refund/domestic/refunds":
		s.refund(w, body)
	default:
		s.fail(w, http.StatusNotFound, "NOT_FOUND", r.Method+" "+p)
	}
}

// checkAuth verifies the merchant's WECHATPAY2-SHA256-RSA2048 signature.
func (s *Server) checkAuth(r *http.Request, body []byte) error {
	const scheme = "WECHATPAY2-SHA256-RSA2048 "
	a := r.Header.Get("Authorization")
	if !strings.HasPrefix(a, scheme) {
		return fmt.Errorf("no %s authorization", strings.TrimSpace(scheme))
	}
	f := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(a, scheme), ",") {
		k, v, _ := strings.Cut(kv, "=")
		f[strings.TrimSpace(k)] = strings.Trim(v, `"`)
	}
	if f["mchid"] != s.MchID || f["serial_no"] != s.MchSerial {
		return fmt.Errorf("mchid %s / serial %s unknown", f["mchid"], f["serial_no"])
	}
	msg := r.Method + "\n" + r.URL.RequestURI() + "\n" + f["timestamp"] + "\n" + f["nonce_str"] + "\n" + string(body) + "\n"
	sig, err := base64.StdEncoding.DecodeString(f["signature"])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(msg))
	return rsa.VerifyPKCS1v15(&s.MchKey.PublicKey, crypto.SHA256, sum[:], sig)
}

func (s *Server) prepay(w http.ResponseWriter, body []byte) {
	var req struct {
		AppID      string    `json:"appid"`
		MchID      string    `json:"mchid"`
		OutTradeNo string    `json:"out_trade_no"`
		TimeExpire time.Time `json:"time_expire"`
		NotifyURL  string    `json:"notify_url"`
		Amount     struct {
			Total int64 `json:"total"`
		} `json:"amount"`
		Payer struct {
			OpenID string `json:"openid"`
		} `json:"payer"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.OutTradeNo == "" || req.Amount.Total <= 0 || req.Payer.OpenID == "" {
		s.fail(w, http.StatusBadRequest, "PARAM_ERROR", fmt.Sprintf("bad prepay %s (%v)", body, err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orders[req.OutTradeNo]; ok {
		if o.TotalFen != req.Amount.Total || o.State != "NOTPAY" {
			s.fail(w, http.StatusBadRequest, "INVALID_REQUEST", "201 商户订单号重复")
			return
		}
		o.PrepayCalls++
		s.reply(w, http.StatusOK, map[string]string{"prepay_id": o.PrepayID})
		return
	}
	o := &Order{OutTradeNo: req.OutTradeNo, TotalFen: req.Amount.Total, TimeExpire: req.TimeExpire, NotifyURL: req.NotifyURL,
		PrepayID: "wx" + randomHex(14), State: "NOTPAY", PrepayCalls: 1}
	s.orders[req.OutTradeNo] = o
	s.reply(w, http.StatusOK, map[string]string{"prepay_id": o.PrepayID})
}

func (s *Server) closeOrder(w http.ResponseWriter, no string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failClose {
		s.fail(w, http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误")
		return
	}
	o, ok := s.orders[no]
	switch {
	case !ok:
		s.fail(w, http.StatusNotFound, "ORDERNOTEXIST", "订单不存在")
	case o.State == "SUCCESS":
		s.fail(w, http.StatusBadRequest, "ORDERPAID", "订单已支付")
	default:
		o.State = "CLOSED"
		s.reply(w, http.StatusNoContent, nil)
	}
}

func (s *Server) query(w http.ResponseWriter, no string) {
	s.mu.Lock()
	o, ok := s.orders[no]
	var c Order
	if ok {
		c = *o
	}
	s.mu.Unlock()
	if !ok {
		s.fail(w, http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
		return
	}
	tx := map[string]any{"appid": s.AppID, "mchid": s.MchID, "out_trade_no": no, "trade_state": c.State, "trade_type": "JSAPI",
		"amount": map[string]any{"total": c.TotalFen, "currency": "CNY"}}
	if c.State == "SUCCESS" {
		tx["transaction_id"] = c.TransactionID
		tx["success_time"] = time.Now().Format(time.RFC3339)
		tx["amount"].(map[string]any)["payer_total"] = c.TotalFen
	}
	s.reply(w, http.StatusOK, tx)
}

func (s *Server) refund(w http.ResponseWriter, body []byte) {
	var req struct {
		OutTradeNo  string `json:"out_trade_no"`
		OutRefundNo string `json:"out_refund_no"`
		Amount      struct {
			Refund int64 `json:"refund"`
			Total  int64 `json:"total"`
		} `json:"amount"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.OutRefundNo == "" {
		s.fail(w, http.StatusBadRequest, "PARAM_ERROR", fmt.Sprintf("bad refund %s", body))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[req.OutTradeNo]
	if !ok || o.State != "SUCCESS" || req.Amount.Total != o.TotalFen || req.Amount.Refund <= 0 || req.Amount.Refund > o.TotalFen {
		s.fail(w, http.StatusBadRequest, "INVALID_REQUEST", "订单状态或金额不符")
		return
	}
	r, ok := s.refunds[req.OutRefundNo]
	if !ok {
		r = &Refund{OutRefundNo: req.OutRefundNo, OutTradeNo: req.OutTradeNo, AmountFen: req.Amount.Refund, TotalFen: req.Amount.Total}
		s.refunds[req.OutRefundNo] = r
	}
	r.Calls++
	s.reply(w, http.StatusOK, map[string]any{
		"refund_id": "5000" + randomHex(8), "out_refund_no": r.OutRefundNo, "transaction_id": o.TransactionID, "out_trade_no": o.OutTradeNo,
		"channel": "ORIGINAL", "user_received_account": "支付用户零钱", "create_time": time.Now().Format(time.RFC3339), "status": "PROCESSING",
		"amount": map[string]any{"total": r.TotalFen, "refund": r.AmountFen, "payer_total": r.TotalFen, "payer_refund": r.AmountFen,
			"settlement_refund": r.AmountFen, "settlement_total": r.TotalFen, "discount_refund": 0, "currency": "CNY", "from": []any{}},
	})
}
