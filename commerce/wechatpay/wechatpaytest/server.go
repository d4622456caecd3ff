// Package wechatpaytest is a local fake of the WeChat Pay API v3 for tests:
// an httptest server with JSAPI prepay, query and close by out_trade_no and
// domestic refunds, which checks the merchant's request signatures and
// signs its responses and the notifies it builds with a platform key it
// generates. Nothing leaves the machine.
package wechatpaytest

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce/wechatpay"
)

// Order is a payment the fake knows.
type Order struct {
	OutTradeNo    string
	TotalFen      int64
	TimeExpire    time.Time
	NotifyURL     string
	PrepayID      string
	State         string // NOTPAY, SUCCESS, CLOSED
	TransactionID string
	PrepayCalls   int
}

// Refund is a refund the fake was asked for.
type Refund struct {
	OutRefundNo string
	OutTradeNo  string
	AmountFen   int64
	TotalFen    int64
	Calls       int
}

// Server is the fake. Its keys are fresh per server.
type Server struct {
	*httptest.Server
	AppID, MchID, MchSerial string
	MchKey                  *rsa.PrivateKey
	PlatformKeyID           string
	PlatformKey             *rsa.PrivateKey
	APIv3Key                string

	mu      sync.Mutex
	orders  map[string]*Order
	refunds map[string]*Refund
	// FailClose makes close-order answer 500 (the provider is down).
	failClose bool
}

// NewServer starts a fake, closed when t ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	mch, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	plat, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		AppID: "wxtestappid000001", MchID: "1900000109", MchSerial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
		MchKey: mch, PlatformKeyID: "PUB_KEY_ID_0119000001092024", PlatformKey: plat,
		APIv3Key: "abcdefghijklmnopqrstuvwxyz012345",
		orders:   map[string]*Order{}, refunds: map[string]*Refund{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Config is a client Config for this fake.
func (s *Server) Config(notifyURL, refundNotifyURL string) wechatpay.Config {
	return wechatpay.Config{
		AppID: s.AppID, MchID: s.MchID, MchCertSerial: s.MchSerial, MchPrivateKey: s.MchKey,
		APIv3Key: s.APIv3Key, PlatformPublicKeyID: s.PlatformKeyID, PlatformPublicKey: &s.PlatformKey.PublicKey,
		NotifyURL: notifyURL, RefundNotifyURL: refundNotifyURL, APIHost: s.URL,
	}
}

// SetCloseFails makes close-order fail with a 500 (true) or work (false).
func (s *Server) SetCloseFails(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failClose = fail
}

// Order returns what the fake knows of an out_trade_no.
func (s *Server) Order(outTradeNo string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return Order{}, false
	}
	return *o, true
}

// Refund returns what the fake knows of an out_refund_no.
func (s *Server) Refund(outRefundNo string) (Refund, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refunds[outRefundNo]
	if !ok {
		return Refund{}, false
	}
	return *r, true
}

// Pay marks a prepaid order paid (the user paid in WeChat) and returns the
// body of its TRANSACTION.SUCCESS notify.
func (s *Server) Pay(outTradeNo string) ([]byte, error) {
	s.mu.Lock()
	o, ok := s.orders[outTradeNo]
	if ok && o.State == "NOTPAY" {
		o.State, o.TransactionID = "SUCCESS", "4200"+strings.Repeat("0", 10)+strconv.FormatInt(time.Now().UnixNano()%1e14, 10)
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("wechatpaytest: no order %s", outTradeNo)
	}
	if o.State != "SUCCESS" {
		return nil, fmt.Errorf("wechatpaytest: order %s is %s", outTradeNo, o.State)
	}
	return s.PaymentNotifyBody(outTradeNo, o.TotalFen)
}

// PaymentNotifyBody is a TRANSACTION.SUCCESS notify body for outTradeNo
// paid totalFen (any amount, to test a mismatch), encrypted with the APIv3
// key.
func (s *Server) PaymentNotifyBody(outTradeNo string, totalFen int64) ([]byte, error) {
	s.mu.Lock()
	tid := "4200000000000000000001"
	if o, ok := s.orders[outTradeNo]; ok && o.TransactionID != "" {
		tid = o.TransactionID
	}
	s.mu.Unlock()
	return s.notifyBody("TRANSACTION.SUCCESS", "transaction", map[string]any{
		"appid": s.AppID, "mchid": s.MchID, "out_trade_no": outTradeNo, "transaction_id": tid,
		"trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
		"success_time": time.Now().Format(time.RFC3339), "payer": map[string]string{"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
		"amount": map[string]any{"total": totalFen, "payer_total": totalFen, "currency": "CNY", "payer_currency": "CNY"},
	})
}

// RefundNotifyBody is a refund notify body (status SUCCESS, CLOSED or
// ABNORMAL) for a refund the fake was asked for.
func (s *Server) RefundNotifyBody(outRefundNo, status string) ([]byte, error) {
	r, ok := s.Refund(outRefundNo)
	if !ok {
		return nil, fmt.Errorf("wechatpaytest: no refund %s", outRefundNo)
	}
	return s.notifyBody("REFUND."+status, "refund", map[string]any{
		"mchid": s.MchID, "out_trade_no": r.OutTradeNo, "transaction_id": "4200000000000000000001",
		"out_refund_no": outRefundNo, "refund_id": "50000000000000000001", "refund_status": status,
		"success_time": time.Now().Format(time.RFC3339), "user_received_account": "支付用户零钱",
		"amount": map[string]any{"total": r.TotalFen, "refund": r.AmountFen, "payer_total": r.TotalFen, "payer_refund": r.AmountFen},
	})
}

func (s *Server) notifyBody(eventType, originalType string, resource any) ([]byte, error) {
	plain, err := json.Marshal(resource)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher([]byte(s.APIv3Key))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := randomHex(6) // 12 characters
	ad := originalType
	ct := gcm.Seal(nil, []byte(nonce), plain, []byte(ad))
	return json.Marshal(map[string]any{
		"id": "EV-" + randomHex(8), "create_time": time.Now().Format(time.RFC3339), "resource_type": "encrypt-resource",
		"event_type": eventType, "summary": "通知",
		"resource": map[string]string{
			"original_type": originalType, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(ct), "associated_data": ad, "nonce": nonce,
		},
	})
}

// NotifyRequest is a notify POST of body to url signed by the platform key
// at time at. Forged signs it with another key instead.
func (s *Server) NotifyRequest(url string, body []byte, at time.Time, forged bool) (*http.Request, error) {
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	key := s.PlatformKey
	if forged {
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	r.Header.Set("Content-Type", "application/json")
	if err := sign(r.Header, key, s.PlatformKeyID, at, body); err != nil {
		return nil, err
	}
	return r, nil
}

func sign(h http.Header, key *rsa.PrivateKey, serial string, at time.Time, body []byte) error {
	ts, nonce := strconv.FormatInt(at.Unix(), 10), randomHex(16)
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return err
	}
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	h.Set("Request-Id", "req-"+nonce)
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// reply writes a signed JSON response.
func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v != nil {
		body, _ = json.Marshal(v)
	}
	if err := sign(w.Header(), s.PlatformKey, s.PlatformKeyID, time.Now(), body); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) fail(w http.ResponseWriter, status int, code, msg string) {
	s.reply(w, status, map[string]string{"code": code, "message": msg})
}
