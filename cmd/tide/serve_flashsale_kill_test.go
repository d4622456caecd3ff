package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/commerce/wechatpay/wechatpaytest"
	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
)

// stormUsers buy with two devices each: 2,000 concurrent buyers.
const stormUsers = 1000

// killRig is a `tide serve` binary on real PostgreSQL and Kafka with WeChat
// Pay and WeChat login faked, and the buyers' session tokens.
type killRig struct {
	t               *testing.T
	bin, addr, base string
	env             map[string]string
	args            []string
	store           *postgres.Store
	fake            *wechatpaytest.Server
	tokens          map[string]string // user → session token
	codes           map[string]string // user → wx.login code
	client          tidev1connect.CommerceServiceClient
	topic           string
	brokers         []string
}

// TestFlashSaleSurvivesKill9MidStorm is issue 10's proof from outside the
// process: 2,000 concurrent buyers (1,000 users, two devices each) on a
// 100-unit flash sale through the RPC of a real `tide serve` get exactly
// 100 orders, one per user; then `tide serve` is killed with SIGKILL in the
// middle of a second storm and started again, the storm goes on, a few
// orders are paid through WeChat Pay's notify, and once the (short) payment
// timeout has passed: nothing was oversold, every acknowledged order is
// stored, no unpaid order holds a unit, every unit is either sold or back
// in its sale, and every paid order's order_paid event is in Kafka exactly
// once.
func TestFlashSaleSurvivesKill9MidStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("process-level storm")
	}
	r := newKillRig(t)
	ctx := context.Background()
	serve := startServe(t, r.bin, r.addr, r.env, r.args...)

	// Storm 1, undisturbed.
	acked, failed := r.storm(ctx, "fs1", "a", 0)
	if len(failed) > 0 {
		t.Fatalf("storm 1: %d buyers got an error other than sold out or over the limit, e.g. %v", len(failed), failed[0])
	}
	if len(acked) != 100 {
		t.Fatalf("storm 1: %d orders acknowledged from a 100-unit allotment", len(acked))
	}
	if n := r.count(ctx, `SELECT count(*) FROM orders WHERE flash_sale_id = 'fs1' AND pay_state = 'unpaid'`); n != 100 {
		t.Fatalf("storm 1: %d orders waiting for payment, want 100", n)
	}
	r.checkSale(ctx, "fs1")
	paid := r.payOrders(ctx, "fs1", 10)
	// The paid events are relayed (marked sent) before the kill, so a
	// restarted relay has no reason to send them again.
	if !waitFor(ctx, 30*time.Second, func() bool {
		return r.count(ctx, `SELECT count(*) FROM event_outbox WHERE event_type = 'order_paid' AND sent_at IS NOT NULL`) == int64(len(paid))
	}) {
		t.Fatal("the order_paid events of storm 1 were not relayed in 30s")
	}

	// Storm 2, killed in the middle once 30 of its orders are stored.
	var (
		wg     sync.WaitGroup
		acked2 []string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Buyers in flight at the kill get errors: not counted, not checked.
		// They arrive over five seconds, so that the kill finds the sale
		// neither untouched nor sold out.
		acked2, _ = r.storm(ctx, "fs2", "b", 5*time.Millisecond)
	}()
	for deadline := time.Now().Add(time.Minute); r.count(ctx, `SELECT count(*) FROM orders WHERE flash_sale_id = 'fs2'`) < 30; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("storm 2 stored no 30 orders in a minute")
		}
	}
	serve.kill()
	killAt := r.count(ctx, `SELECT count(*) FROM orders WHERE flash_sale_id = 'fs2'`)
	wg.Wait()
	if killAt >= 100 {
		t.Fatalf("storm 2 was over (%d orders) before the kill", killAt)
	}
	t.Logf("killed with %d of 100 units of storm 2 ordered; %d acknowledged", killAt, len(acked2))

	startServe(t, r.bin, r.addr, r.env, r.args...)
	acked3, failed := r.storm(ctx, "fs2", "c", 0)
	if len(failed) > 0 {
		t.Fatalf("storm 2 after the restart: %d buyers got an error other than sold out or over the limit, e.g. %v", len(failed), failed[0])
	}
	for _, id := range append(acked2, acked3...) {
		if r.count(ctx, `SELECT count(*) FROM orders WHERE id = '`+id+`'`) != 1 {
			t.Errorf("acknowledged order %s is not stored", id)
		}
	}
	r.checkSale(ctx, "fs2")
	if rem := r.count(ctx, `SELECT remaining FROM flash_sales WHERE id = 'fs2'`); rem != 0 {
		t.Errorf("fs2 not sold out after the storm went on: %d left", rem)
	}
	paid = append(paid, r.payOrders(ctx, "fs2", 5)...)

	// After the payment timeout every unpaid order is closed and its unit
	// back in its sale.
	if !waitFor(ctx, 90*time.Second, func() bool {
		return r.count(ctx, `SELECT count(*) FROM orders WHERE pay_state = 'unpaid'`) == 0
	}) {
		t.Fatalf("%d orders still unpaid 90s after the storms", r.count(ctx, `SELECT count(*) FROM orders WHERE pay_state = 'unpaid'`))
	}
	for sale, want := range map[string]int64{"fs1": 10, "fs2": 5} {
		r.checkSale(ctx, sale)
		q := func(sql string) int64 { return r.count(ctx, strings.ReplaceAll(sql, "$sale", "'"+sale+"'")) }
		if n := q(`SELECT count(*) FROM stock_reservations WHERE flash_sale_id = $sale AND state = 'held'`); n != 0 {
			t.Errorf("%s: %d units still held after every unpaid order timed out", sale, n)
		}
		if n := q(`SELECT count(*) FROM orders WHERE flash_sale_id = $sale AND pay_state = 'paid'`); n != want {
			t.Errorf("%s: %d paid orders, want %d", sale, n, want)
		}
		if n := q(`SELECT coalesce(sum(quantity), 0) FROM stock_reservations WHERE flash_sale_id = $sale AND state = 'sold'`); n != want {
			t.Errorf("%s: %d units sold, want %d", sale, n, want)
		}
		if n := q(`SELECT remaining FROM flash_sales WHERE id = $sale`); n != 100-want {
			t.Errorf("%s: %d units back in the sale, want %d", sale, n, 100-want)
		}
		if n := q(`SELECT coalesce(sum(quantity), 0) FROM flash_sale_buyers WHERE sale_id = $sale`); n != want {
			t.Errorf("%s: the buyers' counts add up to %d, want the %d paid", sale, n, want)
		}
	}
	r.checkKafka(ctx, paid)
}

func newKillRig(t *testing.T) *killRig {
	t.Helper()
	brokers := testenv.Kafka(t)
	dsn := pgtest.Database(t)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := postgres.Open(ctx, dsn, postgres.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Migrate(ctx, store.Pool(), log); err != nil {
		t.Fatal(err)
	}
	if err := store.PutMerchant(ctx, commerce.Merchant{ID: "m1", Name: "m1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.WriteProducts(ctx, []commerce.Product{{ID: "p1", MerchantID: "m1", Title: "秒杀", Status: commerce.OnShelf, PriceFen: 1990}}); err != nil {
		t.Fatal(err)
	}
	if err := store.PutSKUs(ctx, "p1", []commerce.SKU{{ID: "p1-a", PriceFen: 1990, Stock: 1000}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, id := range []string{"fs1", "fs2"} {
		if err := store.CreateFlashSale(ctx, commerce.FlashSale{ID: id, MerchantID: "m1", SKUID: "p1-a", PriceFen: 990,
			StartsAt: now.Add(-time.Second), EndsAt: now.Add(time.Hour), Allotment: 100, PerUserLimit: 1}); err != nil {
			t.Fatal(err)
		}
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	sessionKeys := "k1:" + base64.StdEncoding.EncodeToString(secret)
	keys, err := auth.ParseSigningKeys(sessionKeys)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(keys)
	if err != nil {
		t.Fatal(err)
	}
	wechat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"openid":"o-%s","session_key":"sk"}`, r.URL.Query().Get("js_code"))
	}))
	t.Cleanup(wechat.Close)
	fake := wechatpaytest.NewServer(t)
	dir := t.TempDir()
	r := &killRig{t: t, bin: buildTide(t), addr: freeAddr(t), store: store, fake: fake, tokens: map[string]string{}, codes: map[string]string{}, brokers: brokers,
		topic: fmt.Sprintf("test.flashsale_kill.%d", time.Now().UnixNano())}
	r.base = "http://" + r.addr
	r.env = map[string]string{
		"TIDE_POSTGRES_URL": dsn, "TIDE_ORDER_PAYMENT_TIMEOUT": "20s",
		envSessionKeys: sessionKeys, envWeChatAppID: "wx_kill", envWeChatSecret: "secret", envWeChatBase: wechat.URL,
		envAPIKeys: "", envRateLimit: "off", envRateLimits: "", envRateExempt: "", envTrusted: "", envMetricsAddr: "main",
		"TIDE_CLICKHOUSE_ADDR": "", "TIDE_EXPERIMENTS": "", "TIDE_FEED_RULES": "", "TIDE_PYROSCOPE_ADDR": "",
		"TIDE_WECHATPAY_MCHID": fake.MchID, "TIDE_WECHATPAY_APPID": fake.AppID, "TIDE_WECHATPAY_MCH_SERIAL": fake.MchSerial,
		"TIDE_WECHATPAY_MCH_KEY":     writePEM(t, dir, "apiclient_key.pem", "PRIVATE KEY", mustPKCS8(t, fake.MchKey)),
		"TIDE_WECHATPAY_APIV3_KEY":   fake.APIv3Key,
		"TIDE_WECHATPAY_PUBKEY_ID":   fake.PlatformKeyID,
		"TIDE_WECHATPAY_PUBKEY":      writePEM(t, dir, "pub_key.pem", "PUBLIC KEY", mustPKIX(t, &fake.PlatformKey.PublicKey)),
		"TIDE_WECHATPAY_NOTIFY_BASE": r.base, "TIDE_WECHATPAY_API_HOST": fake.URL,
	}
	r.args = []string{"-brokers", strings.Join(brokers, ","), "-topic", r.topic, "-partitions", "1"}
	for u := range stormUsers {
		id := buyer(u)
		if r.tokens[id], _, err = tokens.Issue(id); err != nil {
			t.Fatal(err)
		}
		r.codes[id] = loginCode(u)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = 64, 64
	r.client = tidev1connect.NewCommerceServiceClient(&http.Client{Transport: tr, Timeout: 60 * time.Second}, r.base)
	return r
}

// buyer is the user id of buyer u, as Login makes it from the openid the
// WeChat fake gives for the login code loginCode(u).
func buyer(u int) string { return auth.UserIDFromOpenID("wx_kill", "o-"+loginCode(u)) }

func loginCode(u int) string { return fmt.Sprintf("buyer-%04d", u) }

// storm has every user buy one unit of sale from two devices at once, user
// u after u×pace, and returns the ids of the orders acknowledged as
// created and the errors that are neither sold out nor over the limit.
func (r *killRig) storm(ctx context.Context, sale, wave string, pace time.Duration) (acked []string, failed []error) {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for b := range 2 * stormUsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			time.Sleep(time.Duration(b/2) * pace)
			u := buyer(b / 2)
			req := connect.NewRequest(&tidev1.SubmitRequest{Items: []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 1}}, FlashSaleId: sale,
				IdempotencyKey: fmt.Sprintf("%s-%s-%d", sale, wave, b)})
			req.Header().Set("Authorization", "Bearer "+r.tokens[u])
			res, err := r.client.Submit(ctx, req)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && res.Msg.GetCreated():
				acked = append(acked, res.Msg.GetOrder().GetId())
			case err == nil:
				failed = append(failed, fmt.Errorf("buyer %d: a fresh key returned an old order", b))
			case connect.CodeOf(err) != connect.CodeResourceExhausted:
				failed = append(failed, fmt.Errorf("buyer %d: %w", b, err))
			}
		}()
	}
	close(start)
	wg.Wait()
	return acked, failed
}

// count runs a query of one integer.
func (r *killRig) count(ctx context.Context, sql string) int64 {
	r.t.Helper()
	var n int64
	if err := r.store.Pool().QueryRow(ctx, sql).Scan(&n); err != nil {
		r.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// checkSale asserts the sale's invariants: nothing oversold, every unit
// left, held or sold, holds only of orders that still wait for payment or
// are paid, one live order and a count within the limit per user.
func (r *killRig) checkSale(ctx context.Context, sale string) {
	r.t.Helper()
	q := func(sql string) int64 { return r.count(ctx, strings.ReplaceAll(sql, "$sale", "'"+sale+"'")) }
	rem := q(`SELECT remaining FROM flash_sales WHERE id = $sale`)
	held := q(`SELECT coalesce(sum(quantity), 0) FROM stock_reservations WHERE flash_sale_id = $sale AND state IN ('held', 'sold')`)
	if rem < 0 || held > 100 || rem+held != 100 {
		r.t.Errorf("%s: %d units left and %d held or sold of 100", sale, rem, held)
	}
	if n := q(`SELECT count(*) FROM stock_reservations h JOIN orders o ON o.id = h.order_id
		WHERE h.flash_sale_id = $sale AND ((h.state = 'held') != (o.pay_state = 'unpaid') OR (h.state = 'sold') != (o.pay_state = 'paid'))`); n != 0 {
		r.t.Errorf("%s: %d holds disagree with their order's payment state", sale, n)
	}
	if n := q(`SELECT count(*) FROM orders o WHERE o.flash_sale_id = $sale AND NOT EXISTS (SELECT 1 FROM stock_reservations h WHERE h.order_id = o.id)`); n != 0 {
		r.t.Errorf("%s: %d orders without their hold", sale, n)
	}
	if n := q(`SELECT count(*) FROM (SELECT user_id FROM orders WHERE flash_sale_id = $sale AND pay_state != 'closed'
		GROUP BY user_id HAVING count(*) > 1) x`); n != 0 {
		r.t.Errorf("%s: %d users with two live orders (limit 1)", sale, n)
	}
	if n := q(`SELECT count(*) FROM flash_sale_buyers WHERE sale_id = $sale AND (quantity > 1 OR quantity < 0)`); n != 0 {
		r.t.Errorf("%s: %d buyers past the limit", sale, n)
	}
	if n := q(`SELECT count(*) FROM orders o WHERE o.flash_sale_id = $sale
		AND NOT EXISTS (SELECT 1 FROM event_outbox e WHERE e.event_id = o.id || '-EVENT_TYPE_ORDER_CREATED')`); n != 0 {
		r.t.Errorf("%s: %d orders without their order_created event", sale, n)
	}
	// order_lines has no foreign key to orders (migration 00009): the
	// statement that writes an order writes its lines.
	if n := q(`SELECT count(*) FROM order_lines l WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = l.order_id)`); n != 0 {
		r.t.Errorf("%s: %d order lines without their order", sale, n)
	}
	if n := q(`SELECT count(*) FROM orders o WHERE o.flash_sale_id = $sale AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)`); n != 0 {
		r.t.Errorf("%s: %d orders without their line", sale, n)
	}
}

// payOrders pays n of the sale's unpaid orders as their buyers do: Pay
// through the RPC (the prepay at the WeChat Pay fake), the payment in
// WeChat, then WeChat Pay's signed notify to tide. It returns their ids.
func (r *killRig) payOrders(ctx context.Context, sale string, n int) []string {
	r.t.Helper()
	rows, err := r.store.Pool().Query(ctx, `SELECT id, user_id, pay_fen FROM orders WHERE flash_sale_id = $1 AND pay_state = 'unpaid' ORDER BY id LIMIT $2`, sale, n)
	if err != nil {
		r.t.Fatal(err)
	}
	type unpaid struct {
		id, user string
		fen      int64
	}
	var os []unpaid
	for rows.Next() {
		var o unpaid
		if err := rows.Scan(&o.id, &o.user, &o.fen); err != nil {
			r.t.Fatal(err)
		}
		os = append(os, o)
	}
	if rows.Err() != nil || len(os) != n {
		r.t.Fatalf("%s: %d unpaid orders to pay, want %d (%v)", sale, len(os), n, rows.Err())
	}
	var ids []string
	for _, o := range os {
		req := connect.NewRequest(&tidev1.PayRequest{OrderId: o.id, LoginCode: r.codes[o.user]})
		req.Header().Set("Authorization", "Bearer "+r.tokens[o.user])
		if _, err := r.client.Pay(ctx, req); err != nil {
			r.t.Fatalf("pay %s: %v", o.id, err)
		}
		var no string
		if err := r.store.Pool().QueryRow(ctx, `SELECT out_trade_no FROM payment_attempts WHERE order_id = $1 AND state = 'open'`, o.id).Scan(&no); err != nil {
			r.t.Fatalf("attempt of %s: %v", o.id, err)
		}
		body, err := r.fake.Pay(no)
		if err != nil {
			r.t.Fatal(err)
		}
		nr, err := r.fake.NotifyRequest(r.base+"/wechatpay/notify", body, time.Now(), false)
		if err != nil {
			r.t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(nr.WithContext(ctx))
		if err != nil {
			r.t.Fatalf("notify of %s: %v", o.id, err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			r.t.Fatalf("notify of %s answered %d", o.id, resp.StatusCode)
		}
		ids = append(ids, o.id)
	}
	if got := r.count(ctx, `SELECT count(*) FROM orders WHERE pay_state = 'paid' AND id = ANY('{`+strings.Join(ids, ",")+`}')`); got != int64(n) {
		r.t.Fatalf("%s: %d of the %d notified orders are paid", sale, got, n)
	}
	return ids
}

// checkKafka reads the topic from its start until every paid order's
// order_paid event and every order's order_created event has arrived, and
// asserts each paid order's order_paid is there exactly once, and no other
// order has one.
func (r *killRig) checkKafka(ctx context.Context, paid []string) {
	r.t.Helper()
	kc, err := kgo.NewClient(kgo.SeedBrokers(r.brokers...), kgo.ConsumeTopics(r.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		r.t.Fatal(err)
	}
	defer kc.Close()
	orders := r.count(ctx, `SELECT count(*) FROM orders`)
	paidSeen := map[string]int{}
	created := map[string]bool{}
	isPaid := map[string]bool{}
	for _, id := range paid {
		isPaid[id] = true
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && (len(created) < int(orders) || len(paidSeen) < len(paid)) {
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fs := kc.PollFetches(fctx)
		cancel()
		fs.EachRecord(func(rec *kgo.Record) {
			var e tidev1.Event
			if err := proto.Unmarshal(rec.Value, &e); err != nil {
				return
			}
			switch id := e.GetAttrs()["order_id"]; e.GetType() {
			case tidev1.EventType_EVENT_TYPE_ORDER_PAID:
				paidSeen[id]++
			case tidev1.EventType_EVENT_TYPE_ORDER_CREATED:
				created[id] = true
			}
		})
	}
	if len(created) != int(orders) {
		r.t.Errorf("Kafka has the order_created events of %d of %d orders", len(created), orders)
	}
	for _, id := range paid {
		if paidSeen[id] != 1 {
			r.t.Errorf("paid order %s: %d order_paid events in Kafka, want 1", id, paidSeen[id])
		}
	}
	for id := range paidSeen {
		if !isPaid[id] {
			r.t.Errorf("order %s was not paid but has an order_paid event", id)
		}
	}
}
