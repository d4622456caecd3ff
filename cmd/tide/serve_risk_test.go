package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/commerce/wechatpay/wechatpaytest"
	"github.com/tide-live/tide/commerce/wxship/wxshiptest"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/chschema"
	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/commerce/riskgate"
)

// wechatPayEnv is `tide serve`'s environment for WeChat Pay against pay.
func wechatPayEnv(t *testing.T, pay *wechatpaytest.Server) map[string]string {
	t.Helper()
	dir := t.TempDir()
	return map[string]string{
		"TIDE_WECHATPAY_MCHID": pay.MchID, "TIDE_WECHATPAY_APPID": pay.AppID, "TIDE_WECHATPAY_MCH_SERIAL": pay.MchSerial,
		"TIDE_WECHATPAY_MCH_KEY":     writePEM(t, dir, "apiclient_key.pem", "PRIVATE KEY", mustPKCS8(t, pay.MchKey)),
		"TIDE_WECHATPAY_APIV3_KEY":   pay.APIv3Key,
		"TIDE_WECHATPAY_PUBKEY_ID":   pay.PlatformKeyID,
		"TIDE_WECHATPAY_PUBKEY":      writePEM(t, dir, "pub_key.pem", "PUBLIC KEY", mustPKIX(t, &pay.PlatformKey.PublicKey)),
		"TIDE_WECHATPAY_NOTIFY_BASE": "https://tide.example", "TIDE_WECHATPAY_API_HOST": pay.URL,
	}
}

// openShirtShop opens the commerce database dsn (serve migrated it as it
// started) and writes merchant m1's one product, p1 (真丝衬衫, 199 yuan),
// with its SKU p1-a, 10 in stock.
func openShirtShop(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	store, err := postgres.Open(ctx, dsn, postgres.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	if err := store.PutMerchant(ctx, commerce.Merchant{ID: "m1", Name: "m1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.WriteProducts(ctx, []commerce.Product{{ID: "p1", MerchantID: "m1", Title: "真丝衬衫", Status: commerce.OnShelf, PriceFen: 19900}}); err != nil {
		t.Fatal(err)
	}
	if err := store.PutSKUs(ctx, "p1", []commerce.SKU{{ID: "p1-a", PriceFen: 19900, Stock: 10}}); err != nil {
		t.Fatal(err)
	}
	return store
}

// `tide serve` with the mini-program's credentials refuses a flash-sale
// order of a buyer WeChat ranks 4 (by the openid they logged in or paid
// with) and flags them in ClickHouse's fraud_flags; a buyer ranked 0 buys.
func TestServeRiskGateRefusesRiskyFlashBuyer(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	chAddr := testenv.ClickHouse(t)
	conn, err := ingest.OpenClickHouse(ctx, chAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	db := fmt.Sprintf("risk_serve_%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db) })
	if _, err := chschema.Migrate(ctx, conn, db); err != nil {
		t.Fatal(err)
	}
	pay := wechatpaytest.NewServer(t)
	wx := wxshiptest.NewServer(t)
	wx.Handle("GET /sns/jscode2session", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"openid":"o-%s","session_key":"sk"}`, r.URL.Query().Get("js_code"))
	}))
	env := wechatPayEnv(t, pay)
	for k, v := range map[string]string{"TIDE_POSTGRES_URL": dsn, envWeChatAppID: wxshiptest.AppID, envWeChatSecret: wxshiptest.Secret,
		envWeChatBase: wx.URL(), "TIDE_CLICKHOUSE_ADDR": chAddr, "TIDE_CLICKHOUSE_DATABASE": db, "TIDE_FRAUD": ""} {
		env[k] = v
	}
	tt := startTide(t, env)
	store := openShirtShop(t, dsn)
	now := time.Now()
	if err := store.CreateFlashSale(ctx, commerce.FlashSale{ID: "fs", MerchantID: "m1", SKUID: "p1-a", PriceFen: 990,
		StartsAt: now.Add(-time.Second), EndsAt: now.Add(time.Hour), Allotment: 5, PerUserLimit: 1}); err != nil {
		t.Fatal(err)
	}
	wx.SetRiskRank("o-risky", 4)
	items := []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 1}}
	buyer := func(code string) (tidev1connect.CommerceServiceClient, string) {
		token, id := tt.login(t, code)
		c := tidev1connect.NewCommerceServiceClient(http.DefaultClient, tt.base, connect.WithInterceptors(bearer(token)))
		// A plain order, paid with the login code: tide learns the openid.
		sub, err := c.Submit(ctx, connect.NewRequest(&tidev1.SubmitRequest{Items: items, IdempotencyKey: "plain"}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Pay(ctx, connect.NewRequest(&tidev1.PayRequest{OrderId: sub.Msg.GetOrder().GetId(), LoginCode: code})); err != nil {
			t.Fatal(err)
		}
		return c, id
	}
	risky, riskyID := buyer("risky")
	fine, _ := buyer("fine")
	if n := len(wx.RiskCalls()); n != 0 {
		t.Fatalf("plain orders asked WeChat %d times", n)
	}

	_, err = risky.Submit(ctx, connect.NewRequest(&tidev1.SubmitRequest{Items: items, FlashSaleId: "fs", IdempotencyKey: "fs-1"}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a rank-4 buyer at a flash sale: %v, want permission_denied", err)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Message() != riskgate.Message {
		t.Errorf("refusal message %v, want %q", err, riskgate.Message)
	}
	res, err := fine.Submit(ctx, connect.NewRequest(&tidev1.SubmitRequest{Items: items, FlashSaleId: "fs", IdempotencyKey: "fs-1"}))
	if err != nil || !res.Msg.GetCreated() {
		t.Fatalf("a rank-0 buyer at a flash sale: %v %v", res, err)
	}
	calls := wx.RiskCalls()
	if len(calls) != 2 || calls[0].OpenID != "o-risky" || calls[0].ClientIP != "127.0.0.1" {
		t.Fatalf("risk calls %+v", calls)
	}

	// A buyer who never paid is found by the openid Login kept.
	wx.SetRiskRank("o-newbie", 4)
	token, _ := tt.login(t, "newbie")
	newbie := tidev1connect.NewCommerceServiceClient(http.DefaultClient, tt.base, connect.WithInterceptors(bearer(token)))
	_, err = newbie.Submit(ctx, connect.NewRequest(&tidev1.SubmitRequest{Items: items, FlashSaleId: "fs", IdempotencyKey: "fs-1"}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a rank-4 buyer who never paid, at a flash sale: %v, want permission_denied", err)
	}
	if calls := wx.RiskCalls(); len(calls) != 3 || calls[2].OpenID != "o-newbie" {
		t.Fatalf("risk calls %+v, want the newbie's login openid third", calls)
	}

	var rank int64
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && rank == 0; time.Sleep(200 * time.Millisecond) {
		_ = conn.QueryRow(ctx, "SELECT max(measure) FROM "+db+".fraud_flags WHERE subject_kind = 'user' AND subject_id = ? AND rule = 'r7_wechat_risk_rank'", riskyID).Scan(&rank)
	}
	if rank != 4 {
		t.Fatalf("fraud_flags has rank %d for the refused buyer after 20 s, want 4", rank)
	}
}
