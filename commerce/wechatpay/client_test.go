package wechatpay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/wechatpay"
	"github.com/tide-live/tide/commerce/wechatpay/wechatpaytest"
)

func newClient(t *testing.T) (*wechatpay.Client, *wechatpaytest.Server) {
	t.Helper()
	fake := wechatpaytest.NewServer(t)
	c, err := wechatpay.New(fake.Config("https://tide.example/wechatpay/notify", "https://tide.example/wechatpay/refund"))
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

func TestPrepayAndRequestPayment(t *testing.T) {
	c, fake := newClient(t)
	ctx := context.Background()
	expires := time.Now().Add(15*time.Minute + 700*time.Millisecond)
	rp, err := c.Prepay(ctx, wechatpay.Prepay{OutTradeNo: "o1_1", Description: "T恤", AmountFen: 9900, OpenID: "openid-1", ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	o, ok := fake.Order("o1_1")
	if !ok || o.TotalFen != 9900 || rp.PrepayID != o.PrepayID || rp.Package != "prepay_id="+o.PrepayID || rp.SignType != "RSA" {
		t.Fatalf("prepay %+v, fake saw %+v", rp, o)
	}
	if o.TimeExpire.After(expires) || expires.Sub(o.TimeExpire) > time.Second {
		t.Fatalf("time_expire %v, order releases at %v", o.TimeExpire, expires)
	}
	// paySign is the merchant's signature over appId, timeStamp, nonceStr, package.
	msg := fake.AppID + "\n" + rp.TimeStamp + "\n" + rp.NonceStr + "\n" + rp.Package + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, _ := base64.StdEncoding.DecodeString(rp.PaySign)
	if err := rsa.VerifyPKCS1v15(&fake.MchKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil || len(rp.TimeStamp) != 10 {
		t.Fatalf("paySign does not verify (%v) or timeStamp %q is not seconds", err, rp.TimeStamp)
	}
	// The same out_trade_no again (a retry) is the same prepay; another amount is refused.
	again, err := c.Prepay(ctx, wechatpay.Prepay{OutTradeNo: "o1_1", AmountFen: 9900, OpenID: "openid-1", ExpiresAt: expires})
	if err != nil || again.PrepayID != rp.PrepayID {
		t.Fatalf("retry: %+v %v", again, err)
	}
	if _, err := c.Prepay(ctx, wechatpay.Prepay{OutTradeNo: "o1_1", AmountFen: 1, OpenID: "openid-1", ExpiresAt: expires}); err == nil {
		t.Fatal("a second prepay of one out_trade_no with another amount succeeded")
	}
	var fe *commerce.FieldError
	if _, err := c.Prepay(ctx, wechatpay.Prepay{OutTradeNo: "x", AmountFen: 0, OpenID: "o", ExpiresAt: expires}); !errors.As(err, &fe) {
		t.Fatalf("zero amount: %v", err)
	}
}

func TestCloseQueryRefund(t *testing.T) {
	c, fake := newClient(t)
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	for _, no := range []string{"a_1", "b_1"} {
		if _, err := c.Prepay(ctx, wechatpay.Prepay{OutTradeNo: no, AmountFen: 500, OpenID: "u", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ClosePayment(ctx, "a_1"); err != nil {
		t.Fatal(err)
	}
	if o, _ := fake.Order("a_1"); o.State != "CLOSED" {
		t.Fatalf("closed order is %s", o.State)
	}
	if err := c.ClosePayment(ctx, "never-prepaid"); err != nil {
		t.Fatalf("closing an unknown order: %v", err)
	}
	if _, err := fake.Pay("b_1"); err != nil {
		t.Fatal(err)
	}
	if err := c.ClosePayment(ctx, "b_1"); !errors.Is(err, commerce.ErrAlreadyPaid) {
		t.Fatalf("closing a paid order: %v", err)
	}
	p, err := c.Query(ctx, "b_1")
	if err != nil || !p.Paid() || p.TotalFen != 500 || p.TransactionID == "" || p.PaidAt.IsZero() {
		t.Fatalf("query: %+v %v", p, err)
	}
	if p, err := c.Query(ctx, "a_1"); err != nil || p.Paid() || p.TradeState != "CLOSED" {
		t.Fatalf("query closed: %+v %v", p, err)
	}
	fake.SetCloseFails(true)
	if err := c.ClosePayment(ctx, "b_1"); err == nil || errors.Is(err, commerce.ErrAlreadyPaid) {
		t.Fatalf("close with the provider failing: %v", err)
	}
	res, err := c.Refund(ctx, wechatpay.RefundRequest{OutTradeNo: "b_1", OutRefundNo: "rb_1", AmountFen: 200, TotalFen: 500, Reason: "不想要了"})
	if err != nil || res.Status != "PROCESSING" {
		t.Fatalf("refund: %+v %v", res, err)
	}
	if _, err := c.Refund(ctx, wechatpay.RefundRequest{OutTradeNo: "b_1", OutRefundNo: "rb_1", AmountFen: 200, TotalFen: 500}); err != nil {
		t.Fatal(err)
	}
	if r, _ := fake.Refund("rb_1"); r.Calls != 2 || r.AmountFen != 200 {
		t.Fatalf("fake refund %+v", r)
	}

	// The refund notify, with its own struct.
	body, err := fake.RefundNotifyBody("rb_1", "SUCCESS")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := fake.NotifyRequest("http://tide/refund", body, time.Now(), false)
	n, err := c.ParseRefundNotify(ctx, req)
	if err != nil || !n.Succeeded() || n.OutRefundNo != "rb_1" || n.OutTradeNo != "b_1" || n.Amount.Refund != 200 || n.RefundedAt().IsZero() {
		t.Fatalf("refund notify: %+v %v", n, err)
	}
}

func TestNotifyVerification(t *testing.T) {
	c, fake := newClient(t)
	ctx := context.Background()
	if _, err := c.Prepay(ctx, wechatpay.Prepay{OutTradeNo: "n_1", AmountFen: 800, OpenID: "u", ExpiresAt: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	body, err := fake.Pay("n_1")
	if err != nil {
		t.Fatal(err)
	}
	var got []wechatpay.Payment
	h := wechatpay.NewNotifyHandler(c, func(_ context.Context, p wechatpay.Payment) error {
		got = append(got, p)
		return nil
	}, nil, nil)
	deliver := func(at time.Time, forged bool, b []byte) int {
		req, err := fake.NotifyRequest("http://tide/notify", body, at, forged)
		if err != nil {
			t.Fatal(err)
		}
		req.Body = io.NopCloser(bytes.NewReader(b)) // what arrives, signed or not
		w := httptest.NewRecorder()
		h.Payment().ServeHTTP(w, req)
		return w.Code
	}
	if code := deliver(time.Now(), true, body); code != http.StatusUnauthorized {
		t.Errorf("forged signature: %d", code)
	}
	if code := deliver(time.Now().Add(-6*time.Minute), false, body); code != http.StatusUnauthorized {
		t.Errorf("stale timestamp: %d", code)
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] ^= 1
	if code := deliver(time.Now(), false, tampered); code != http.StatusUnauthorized {
		t.Errorf("tampered body: %d", code)
	}
	if len(got) != 0 {
		t.Fatalf("refused notifies reached the callback: %+v", got)
	}
	if code := deliver(time.Now(), false, body); code != http.StatusOK {
		t.Fatalf("genuine notify: %d", code)
	}
	if len(got) != 1 || got[0].OutTradeNo != "n_1" || got[0].TotalFen != 800 || !got[0].Paid() {
		t.Fatalf("callback got %+v", got)
	}
}
