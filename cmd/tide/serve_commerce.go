package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/tide-live/tide/commerce/checkout"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/wechatpay"
	"github.com/tide-live/tide/commerce/wxapp"
	"github.com/tide-live/tide/commerce/wxship"
	"github.com/tide-live/tide/ingest/outbox"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/callerfacts"
	servingcommerce "github.com/tide-live/tide/serving/commerce"
)

// Environment of `tide serve`'s checkout (CommerceService).
//
//	TIDE_POSTGRES_URL              the commerce database; unset: no CommerceService
//	                               (pool size: pgx's pool_max_conns in the URL, default
//	                               postgres.DefaultMaxConns, max(8, 4×GOMAXPROCS))
//	TIDE_ORDER_PAYMENT_TIMEOUT     how long an unpaid order holds stock (default 15m)
//	TIDE_WECHATPAY_MCHID           WeChat Pay merchant id; unset: Pay answers unavailable
//	TIDE_WECHATPAY_APPID           the mini-program's appid
//	TIDE_WECHATPAY_MCH_SERIAL      serial number of the merchant API certificate
//	TIDE_WECHATPAY_MCH_KEY         path of the merchant private key (apiclient_key.pem)
//	TIDE_WECHATPAY_APIV3_KEY       the APIv3 key (32 bytes)
//	TIDE_WECHATPAY_PUBKEY_ID       id of the WeChat Pay public key (PUB_KEY_ID_…)
//	TIDE_WECHATPAY_PUBKEY          path of the WeChat Pay public key (pub_key.pem)
//	TIDE_WECHATPAY_NOTIFY_BASE     public base URL of this server for notifies (https://…)
//	TIDE_WECHATPAY_API_HOST        API host (default https://api.mch.weixin.qq.com)
//	TIDE_WECHAT_APPID, TIDE_WECHAT_SECRET (serve_auth.go) also turn Pay's
//	                               wx.login code into the payer's openid, and, with
//	                               WeChat Pay on, upload each shipment to WeChat's
//	                               shipping-info service (发货信息管理) at
//	                               TIDE_WECHAT_API_BASE (default https://api.weixin.qq.com)
//	TIDE_WECHAT_SHIPPING_UPLOAD    "off" stops those uploads (shipments are still
//	                               recorded, pending, and sent once it is on)
//	TIDE_WECHAT_RISK…              the risk gate at flash-sale and coupon orders
//	                               (serve_risk.go), with the same credentials
//
// Notifies are served at /wechatpay/notify and /wechatpay/refund-notify.
//
// Order events written during a buyer's request carry the caller facts
// facts finds (nil: none), as Track's events do.
func setupCommerce(ctx context.Context, log *slog.Logger, srv *serving.Server, cfg serveConfig, facts *callerfacts.Stamper) error {
	url := os.Getenv("TIDE_POSTGRES_URL")
	if url == "" {
		log.Info("CommerceService not mounted: TIDE_POSTGRES_URL is unset")
		return nil
	}
	timeout := order.DefaultPaymentTimeout
	if s := os.Getenv("TIDE_ORDER_PAYMENT_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("TIDE_ORDER_PAYMENT_TIMEOUT=%q: want a positive duration like 15m", s)
		}
		timeout = d
	}
	store, err := postgres.Open(ctx, url, postgres.WithLogger(log))
	if err != nil {
		return fmt.Errorf("commerce: %w", err)
	}
	if err := store.Migrate(ctx); err != nil { // the shared outbox's migrations first, then commerce's
		store.Close()
		return fmt.Errorf("commerce: %w", err)
	}
	seller := store.NewFlashSeller()
	orders := store.Orders(seller, servingcommerce.StampCallerFacts(func(ctx context.Context, ex postgres.Execer, evs ...*tidev1.Event) error {
		return outbox.Add(ctx, ex, evs...)
	}), postgres.WithPaymentTimeout(timeout), postgres.WithEventStamper(servingcommerce.StampFacts))
	payments, err := serveWeChatPay(orders, log)
	if err != nil {
		store.Close()
		return err
	}
	var opts []servingcommerce.Option
	if payments != nil {
		// The payer's openid comes from a wx.login code sent with Pay,
		// through the same code2session login uses (serve_auth.go's env).
		var openID servingcommerce.OpenIDOf
		if appID := os.Getenv(envWeChatAppID); appID != "" {
			wx := auth.NewWeChat(appID, os.Getenv(envWeChatSecret), auth.WithWeChatBaseURL(serveEnv(envWeChatBase, auth.DefaultWeChatBaseURL)))
			openID = servingcommerce.OpenIDFromLoginCode(wx, appID)
		} else {
			log.Warn("CommerceService.Pay is unavailable: WeChat login (" + envWeChatAppID + ") is off, so payers have no openid")
		}
		opts = append(opts, servingcommerce.WithPayments(payments, openID))
		h := payments.NotifyHandler()
		srv.Mount("/wechatpay/notify", h.Payment())
		srv.Mount("/wechatpay/refund-notify", h.Refund())
	}
	opts = append(opts, servingcommerce.WithPromotions(store.Promotions), servingcommerce.WithLogger(log), servingcommerce.WithRoomOwner(roomOwner(store.Pool())))
	if facts != nil {
		opts = append(opts, servingcommerce.WithCallerFacts(facts))
	}
	app, err := serveWeChatApp()
	if err != nil {
		store.Close()
		return err
	}
	risk, err := serveRiskGate(ctx, log, srv.Registry(), app, store.Pool(), orders)
	if err != nil {
		store.Close()
		return err
	}
	if risk != nil {
		opts = append(opts, servingcommerce.WithRiskGate(risk))
	}
	h := servingcommerce.NewHandler(store, orders, seller, opts...)
	srv.Mount(h.Mount(srv.ConnectOptions()...))

	uploads, err := serveShippingUploads(orders, log, app, payments != nil)
	if err != nil {
		store.Close()
		return err
	}
	go func() {
		defer store.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			if uploads != nil {
				_ = uploads.Run(ctx, 5*time.Second)
			}
		}()
		runOrderTimers(ctx, log, orders, payments)
		<-done
	}()
	log.Info("CommerceService mounted", "payment_timeout", timeout, "wechatpay", payments != nil, "shipping_upload", uploads != nil, "risk_gate", risk != nil)
	return nil
}

// serveShippingUploads builds the WeChat shipping-info uploader over app
// (the mini-program's credentials) when WeChat Pay is on; nil when not,
// when app is nil, or when TIDE_WECHAT_SHIPPING_UPLOAD=off.
func serveShippingUploads(orders *postgres.Orders, log *slog.Logger, app *wxapp.Client, wechatPay bool) (*checkout.ShippingUploads, error) {
	switch v := os.Getenv("TIDE_WECHAT_SHIPPING_UPLOAD"); {
	case v != "" && v != "on" && v != "off":
		return nil, fmt.Errorf("TIDE_WECHAT_SHIPPING_UPLOAD=%q: want on or off", v)
	case v == "off" || !wechatPay:
		return nil, nil
	case app == nil:
		log.Warn("WeChat shipping uploads are off: " + envWeChatAppID + " and " + envWeChatSecret + " are needed; shipments stay pending")
		return nil, nil
	}
	return checkout.NewShippingUploads(orders, wxship.Over(app), os.Getenv("TIDE_WECHATPAY_MCHID"), log), nil
}

// runOrderTimers closes timed-out orders (and sends refunds) until ctx ends.
func runOrderTimers(ctx context.Context, log *slog.Logger, orders *postgres.Orders, payments *checkout.Payments) {
	if payments != nil {
		_ = payments.Run(ctx, 2*time.Second)
		return
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if _, err := orders.ExpireDue(ctx, nil, 100); err != nil && ctx.Err() == nil {
			log.Error("order timeouts", "err", err)
		}
		if _, err := orders.ExpirePresales(ctx, 100); err != nil && ctx.Err() == nil {
			log.Error("presale forfeits", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serveWeChatPay builds Payments from TIDE_WECHATPAY_*; nil when unset.
func serveWeChatPay(orders *postgres.Orders, log *slog.Logger) (*checkout.Payments, error) {
	mch := os.Getenv("TIDE_WECHATPAY_MCHID")
	if mch == "" {
		return nil, nil
	}
	key, err := utils.LoadPrivateKeyWithPath(os.Getenv("TIDE_WECHATPAY_MCH_KEY"))
	if err != nil {
		return nil, fmt.Errorf("TIDE_WECHATPAY_MCH_KEY: %w", err)
	}
	pub, err := utils.LoadPublicKeyWithPath(os.Getenv("TIDE_WECHATPAY_PUBKEY"))
	if err != nil {
		return nil, fmt.Errorf("TIDE_WECHATPAY_PUBKEY: %w", err)
	}
	base := os.Getenv("TIDE_WECHATPAY_NOTIFY_BASE")
	c, err := wechatpay.New(wechatpay.Config{
		AppID: os.Getenv("TIDE_WECHATPAY_APPID"), MchID: mch, MchCertSerial: os.Getenv("TIDE_WECHATPAY_MCH_SERIAL"), MchPrivateKey: key,
		APIv3Key: os.Getenv("TIDE_WECHATPAY_APIV3_KEY"), PlatformPublicKeyID: os.Getenv("TIDE_WECHATPAY_PUBKEY_ID"), PlatformPublicKey: pub,
		NotifyURL: base + "/wechatpay/notify", RefundNotifyURL: base + "/wechatpay/refund-notify",
		APIHost: os.Getenv("TIDE_WECHATPAY_API_HOST"),
	})
	if err != nil {
		return nil, err
	}
	return checkout.NewPayments(orders, c, log), nil
}
