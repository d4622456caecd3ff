// Package wechatpay is tide's WeChat Pay API v3 client, on
// github.com/wechatpay-apiv3/wechatpay-go: JSAPI prepay returning the
// mini-program's wx.requestPayment parameters, query and close of a payment
// by out_trade_no, refunds, and verified, decrypted payment and refund
// notifies.
//
// Responses and notifies are verified with the WeChat Pay platform public
// key given in the Config (no certificate download at start-up). The API
// host comes from the Config too, so tests run against a local fake
// (wechatpaytest) that signs with keys the test generates.
package wechatpay

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/tide-live/tide/commerce"
)

// Config is a merchant's WeChat Pay account and where to reach the API.
type Config struct {
	AppID string // the mini-program's appid
	MchID string // 商户号
	// MchCertSerial and MchPrivateKey: the merchant API certificate's
	// serial number and private key (apiclient_key.pem), which sign requests
	// and wx.requestPayment.
	MchCertSerial string
	MchPrivateKey *rsa.PrivateKey
	// APIv3Key decrypts notify resources (32 bytes).
	APIv3Key string
	// PlatformPublicKeyID and PlatformPublicKey (微信支付公钥) verify
	// responses and notifies.
	PlatformPublicKeyID string
	PlatformPublicKey   *rsa.PublicKey
	// NotifyURL and RefundNotifyURL are where WeChat Pay posts notifies.
	NotifyURL       string
	RefundNotifyURL string
	// APIHost is the API's base URL; empty is https://api.mch.weixin.qq.com.
	APIHost string
	// HTTPClient sends the requests; nil is a client with a 10s timeout.
	HTTPClient *http.Client
}

// Client calls WeChat Pay. It is safe for concurrent use.
type Client struct {
	cfg     Config
	jsapi   jsapi.JsapiApiService
	refunds refunddomestic.RefundsApiService
	notify  *notify.Handler
}

// New builds a Client; it makes no network call.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.AppID == "" || cfg.MchID == "" || cfg.MchCertSerial == "":
		return nil, errors.New("wechatpay: AppID, MchID and MchCertSerial are required")
	case cfg.MchPrivateKey == nil || cfg.PlatformPublicKey == nil || cfg.PlatformPublicKeyID == "":
		return nil, errors.New("wechatpay: the merchant private key and the platform public key (with its id) are required")
	case len(cfg.APIv3Key) != 32:
		return nil, errors.New("wechatpay: APIv3Key must be 32 bytes")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.APIHost != "" && cfg.APIHost != consts.WechatPayAPIServer {
		u, err := url.Parse(cfg.APIHost)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("wechatpay: APIHost %q is not a URL", cfg.APIHost)
		}
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		c := *hc
		c.Transport = hostRewriter{scheme: u.Scheme, host: u.Host, next: base}
		hc = &c
	}
	client, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.MchCertSerial, cfg.MchPrivateKey, cfg.PlatformPublicKeyID, cfg.PlatformPublicKey),
		option.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("wechatpay: %w", err)
	}
	h, err := notify.NewRSANotifyHandler(cfg.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PlatformPublicKeyID, *cfg.PlatformPublicKey))
	if err != nil {
		return nil, fmt.Errorf("wechatpay: notify handler: %w", err)
	}
	return &Client{cfg: cfg, jsapi: jsapi.JsapiApiService{Client: client}, refunds: refunddomestic.RefundsApiService{Client: client}, notify: h}, nil
}

// hostRewriter sends the SDK's requests (built for the constant production
// host) to the configured host.
type hostRewriter struct {
	scheme, host string
	next         http.RoundTripper
}

func (h hostRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = h.scheme, h.host, h.host
	return h.next.RoundTrip(r)
}

// Prepay is what to charge for one payment attempt.
type Prepay struct {
	OutTradeNo  string
	Description string
	AmountFen   int64
	OpenID      string // the payer's openid in the mini-program
	// ExpiresAt becomes time_expire: never later than when the order
	// releases its stock.
	ExpiresAt time.Time
}

// RequestPayment holds the parameters of wx.requestPayment (signType RSA,
// paySign over appId, timeStamp, nonceStr and package).
type RequestPayment struct {
	PrepayID  string
	TimeStamp string
	NonceStr  string
	Package   string
	SignType  string
	PaySign   string
}

// Prepay places a JSAPI order and returns the wx.requestPayment parameters.
func (c *Client) Prepay(ctx context.Context, p Prepay) (RequestPayment, error) {
	if p.OutTradeNo == "" || p.AmountFen <= 0 || p.OpenID == "" || p.ExpiresAt.IsZero() {
		return RequestPayment{}, &commerce.FieldError{Field: "prepay", Reason: "needs an out_trade_no, a positive amount, the payer's openid and an expiry"}
	}
	expire := p.ExpiresAt.Truncate(time.Second) // RFC 3339 to the second, never after ExpiresAt
	desc := p.Description
	if desc == "" {
		desc = "tide order"
	}
	resp, _, err := c.jsapi.PrepayWithRequestPayment(ctx, jsapi.PrepayRequest{
		Appid:       core.String(c.cfg.AppID),
		Mchid:       core.String(c.cfg.MchID),
		Description: core.String(desc),
		OutTradeNo:  core.String(p.OutTradeNo),
		TimeExpire:  &expire,
		NotifyUrl:   core.String(c.cfg.NotifyURL),
		Amount:      &jsapi.Amount{Total: core.Int64(p.AmountFen), Currency: core.String("CNY")},
		Payer:       &jsapi.Payer{Openid: core.String(p.OpenID)},
	})
	if err != nil {
		return RequestPayment{}, fmt.Errorf("wechatpay prepay %s: %w", p.OutTradeNo, err)
	}
	return RequestPayment{PrepayID: *resp.PrepayId, TimeStamp: *resp.TimeStamp, NonceStr: *resp.NonceStr, Package: *resp.Package, SignType: *resp.SignType, PaySign: *resp.PaySign}, nil
}

// ClosePayment closes an unpaid attempt so it can no longer be paid
// (commerce/postgres.PaymentCloser). An attempt WeChat Pay reports paid
// gives commerce.ErrAlreadyPaid.
func (c *Client) ClosePayment(ctx context.Context, outTradeNo string) error {
	_, err := c.jsapi.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.cfg.MchID)})
	if core.IsAPIError(err, "ORDERPAID") {
		return fmt.Errorf("wechatpay close %s: %w", outTradeNo, commerce.ErrAlreadyPaid)
	}
	if core.IsAPIError(err, "ORDER_CLOSED") || core.IsAPIError(err, "ORDERNOTEXIST") {
		return nil // closed before, or never prepaid: nothing can pay it
	}
	if err != nil {
		return fmt.Errorf("wechatpay close %s: %w", outTradeNo, err)
	}
	return nil
}

// Payment is a payment's state at WeChat Pay, from a notify or a query.
type Payment struct {
	OutTradeNo    string
	TransactionID string
	TradeState    string // SUCCESS, NOTPAY, CLOSED, REFUND, USERPAYING, PAYERROR, REVOKED
	TotalFen      int64  // the order amount (amount.total)
	PaidAt        time.Time
	PayerOpenID   string // payer.openid
}

// Paid says whether the money arrived.
func (p Payment) Paid() bool { return p.TradeState == "SUCCESS" }

// Query asks WeChat Pay for an attempt's state (when a notify is late).
func (c *Client) Query(ctx context.Context, outTradeNo string) (Payment, error) {
	tx, _, err := c.jsapi.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.cfg.MchID)})
	if err != nil {
		return Payment{}, fmt.Errorf("wechatpay query %s: %w", outTradeNo, err)
	}
	return paymentOf(tx)
}

func paymentOf(tx *payments.Transaction) (Payment, error) {
	p := Payment{OutTradeNo: deref(tx.OutTradeNo), TransactionID: deref(tx.TransactionId), TradeState: deref(tx.TradeState)}
	if p.OutTradeNo == "" || p.TradeState == "" {
		return p, errors.New("wechatpay: transaction without out_trade_no or trade_state")
	}
	if tx.Amount != nil && tx.Amount.Total != nil {
		p.TotalFen = *tx.Amount.Total
	}
	if tx.Payer != nil {
		p.PayerOpenID = deref(tx.Payer.Openid)
	}
	if s := deref(tx.SuccessTime); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return p, fmt.Errorf("wechatpay: success_time %q: %w", s, err)
		}
		p.PaidAt = t.UTC()
	}
	return p, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
