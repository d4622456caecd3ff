package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/commerce/wechatpay/wechatpaytest"
	"github.com/tide-live/tide/commerce/wxship/wxshiptest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
)

// `tide serve` with WeChat Pay and the mini-program's credentials uploads
// a shipment to WeChat's shipping-info service after the merchant's Ship,
// naming the WeChat Pay transaction and the payer of Pay's login code.
func TestServeUploadsShipmentToWeChat(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	pay := wechatpaytest.NewServer(t)
	wx := wxshiptest.NewServer(t) // also answers code2session, so login and shipping share TIDE_WECHAT_API_BASE
	wx.Handle("GET /sns/jscode2session", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"openid":"o-%s","session_key":"sk"}`, r.URL.Query().Get("js_code"))
	}))
	env := wechatPayEnv(t, pay)
	for k, v := range map[string]string{"TIDE_POSTGRES_URL": dsn, envWeChatAppID: wxshiptest.AppID, envWeChatSecret: wxshiptest.Secret,
		envWeChatBase: wx.URL(), "TIDE_WECHAT_SHIPPING_UPLOAD": ""} {
		env[k] = v
	}
	tt := startTide(t, env)
	// serve migrates the database as it starts; the catalog is written after.
	store := openShirtShop(t, dsn)
	token, _ := tt.login(t, "buyer1")
	c := tidev1connect.NewCommerceServiceClient(http.DefaultClient, tt.base, connect.WithInterceptors(bearer(token)))
	mc := tidev1connect.NewCommerceServiceClient(http.DefaultClient, tt.base, connect.WithInterceptors(bearer(tt.m1Key)))

	sub, err := c.Submit(ctx, connect.NewRequest(&tidev1.SubmitRequest{Items: []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 1}}, IdempotencyKey: "k1"}))
	if err != nil {
		t.Fatal(err)
	}
	id := sub.Msg.GetOrder().GetId()
	if _, err := c.Pay(ctx, connect.NewRequest(&tidev1.PayRequest{OrderId: id, LoginCode: "buyer1"})); err != nil {
		t.Fatal(err)
	}
	body, err := pay.Pay(id + "_1")
	if err != nil {
		t.Fatal(err)
	}
	nr, err := pay.NotifyRequest("https://tide.example/wechatpay/notify", body, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	nr.URL.Scheme, nr.URL.Host = "http", tt.base[len("http://"):]
	res, err := http.DefaultClient.Do(nr.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("notify answered %d", res.StatusCode)
	}

	if _, err := mc.Ship(ctx, connect.NewRequest(&tidev1.ShipRequest{OrderId: id, ExpressCompany: "ZTO", TrackingNo: "ZT777"})); err != nil {
		t.Fatalf("ship: %v", err)
	}
	var state string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && state != "uploaded"; time.Sleep(100 * time.Millisecond) {
		got, err := mc.MerchantGetOrder(ctx, connect.NewRequest(&tidev1.MerchantGetOrderRequest{OrderId: id}))
		if err != nil {
			t.Fatal(err)
		}
		state = got.Msg.GetOrder().GetShipment().GetUploadState()
	}
	if state != "uploaded" {
		t.Fatalf("shipment upload is %q after 30 s, want uploaded", state)
	}
	var txID string
	if err := store.Pool().QueryRow(ctx, `SELECT transaction_id FROM payment_attempts WHERE order_id = $1 AND state = 'paid'`, id).Scan(&txID); err != nil {
		t.Fatal(err)
	}
	us := wx.Uploads()
	if len(us) != 1 || us[0].OrderKey.TransactionID != txID || us[0].Payer.OpenID != "o-buyer1" || us[0].ShippingList[0].TrackingNo != "ZT777" ||
		us[0].ShippingList[0].ItemDesc != "真丝衬衫×1" {
		t.Fatalf("WeChat got %+v (transaction %s)", us, txID)
	}
}
