package checkout_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/checkout"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/commerce/wechatpay"
	"github.com/tide-live/tide/commerce/wechatpay/wechatpaytest"
	"github.com/tide-live/tide/ingest/outbox"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

type world struct {
	store    *postgres.Store
	orders   *postgres.Orders
	fake     *wechatpaytest.Server
	payments *checkout.Payments
	notify   *wechatpay.NotifyHandler
}

func newWorld(t *testing.T, opts ...postgres.OrdersOption) *world {
	t.Helper()
	ctx := context.Background()
	s, _ := pgtest.Store(t)
	if err := outbox.Migrate(ctx, s.Pool(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteProducts(ctx, []commerce.Product{{ID: "p1", MerchantID: "m1", Title: "直播爆款", Status: commerce.OnShelf, PriceFen: 2990}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSKUs(ctx, "p1", []commerce.SKU{{ID: "p1-a", PriceFen: 2990, Stock: 10}}); err != nil {
		t.Fatal(err)
	}
	add := func(ctx context.Context, ex postgres.Execer, evs ...*tidev1.Event) error {
		return outbox.Add(ctx, ex, evs...)
	}
	orders := s.Orders(s.NewFlashSeller(), add, opts...)
	fake := wechatpaytest.NewServer(t)
	c, err := wechatpay.New(fake.Config("https://tide.example/notify", "https://tide.example/refund"))
	if err != nil {
		t.Fatal(err)
	}
	p := checkout.NewPayments(orders, c, slog.New(slog.DiscardHandler))
	return &world{store: s, orders: orders, fake: fake, payments: p, notify: p.NotifyHandler()}
}

func (w *world) submit(t *testing.T, user, key string) order.Order {
	t.Helper()
	o, _, err := w.orders.Submit(context.Background(), order.Order{UserID: user, MerchantID: "m1", IdempotencyKey: key, TotalFen: 5980, PayFen: 5980,
		Lines: []order.Line{{ProductID: "p1", SKUID: "p1-a", UnitFen: 2990, Quantity: 2, TotalFen: 5980, PayFen: 5980}}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// deliver posts a freshly signed notify body to h and returns the status.
func (w *world) deliver(t *testing.T, h http.Handler, body []byte) int {
	t.Helper()
	req, err := w.fake.NotifyRequest("https://tide.example/notify", body, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func (w *world) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := w.store.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *world) order(t *testing.T, id string) order.Order {
	t.Helper()
	o, err := w.orders.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Duplicated, concurrent notifies from several senders, one arriving before
// the prepay response was stored, and one with a wrong amount.
func TestNotifies(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	o := w.submit(t, "u1", "k1")

	// Out of order: the prepay is placed, the user pays, and the notify
	// lands before our Pay call stored the prepay id.
	a, _, err := w.orders.OpenAttempt(ctx, "u1", o.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := wechatpay.New(w.fake.Config("", ""))
	if _, err := c.Prepay(ctx, wechatpay.Prepay{OutTradeNo: a.OutTradeNo, AmountFen: a.AmountFen, OpenID: "openid", ExpiresAt: a.ExpiresAt}); err != nil {
		t.Fatal(err)
	}
	body, err := w.fake.Pay(a.OutTradeNo)
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := w.fake.PaymentNotifyBody(a.OutTradeNo, 1)
	if code := w.deliver(t, w.notify.Payment(), wrong); code == http.StatusOK {
		t.Fatal("a notify with the wrong amount was accepted")
	}
	if got := w.order(t, o.ID); got.Pay != order.Unpaid {
		t.Fatalf("wrong amount moved the order to %s", got.Pay)
	}

	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- w.deliver(t, w.notify.Payment(), body)
		}()
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Errorf("a genuine notify answered %d", code)
		}
	}
	if code := w.deliver(t, w.notify.Payment(), body); code != http.StatusOK {
		t.Fatalf("a late duplicate answered %d", code)
	}
	// The prepay response "arrives" now: harmless.
	if err := w.orders.SetPrepay(ctx, a.OutTradeNo, "late"); err != nil {
		t.Fatal(err)
	}
	got := w.order(t, o.ID)
	if got.Pay != order.Paid || w.count(t, `SELECT count(*) FROM event_outbox WHERE event_type = 'order_paid'`) != 1 {
		t.Fatalf("after 9 notifies: %s, %d paid events", got.Pay, w.count(t, `SELECT count(*) FROM event_outbox WHERE event_type = 'order_paid'`))
	}
	if n := w.count(t, `SELECT count(*) FROM order_transitions WHERE order_id = $1 AND to_state = 'paid'`, o.ID); n != 1 {
		t.Fatalf("%d paid transitions", n)
	}
	if _, err := w.payments.Pay(ctx, "u1", o.ID, "openid", "x"); err == nil {
		t.Fatal("paying a paid order again was allowed")
	}
}

func TestPayThenTimeoutFindsPayment(t *testing.T) {
	w := newWorld(t, postgres.WithPaymentTimeout(300*time.Millisecond))
	ctx := context.Background()
	o := w.submit(t, "u1", "k1")
	rp, err := w.payments.Pay(ctx, "u1", o.ID, "openid", "直播爆款")
	if err != nil || rp.PaySign == "" {
		t.Fatalf("pay: %+v %v", rp, err)
	}
	fo, _ := w.fake.Order(o.ID + "_1")
	if fo.TimeExpire.After(o.ExpiresAt) {
		t.Fatalf("time_expire %v after the release at %v", fo.TimeExpire, o.ExpiresAt)
	}
	if _, err := w.fake.Pay(o.ID + "_1"); err != nil { // paid, but the notify is lost
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if n, err := w.orders.ExpireDue(ctx, w.payments, 10); err != nil || n != 0 {
		t.Fatalf("expire: closed %d (%v); the order was paid", n, err)
	}
	got := w.order(t, o.ID)
	if got.Pay != order.Paid {
		t.Fatalf("a paid-but-unnotified order is %s after its timeout", got.Pay)
	}
	if w.count(t, `SELECT stock FROM skus WHERE id = 'p1-a'`) != 8 {
		t.Fatal("stock of a paid order was released")
	}
}

func TestTimeoutClosesAndLatePaymentIsRefunded(t *testing.T) {
	w := newWorld(t, postgres.WithPaymentTimeout(300*time.Millisecond))
	ctx := context.Background()
	o := w.submit(t, "u1", "k1")
	if _, err := w.payments.Pay(ctx, "u1", o.ID, "openid", "x"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if n, err := w.orders.ExpireDue(ctx, w.payments, 10); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	if fo, _ := w.fake.Order(o.ID + "_1"); fo.State != "CLOSED" {
		t.Fatalf("WeChat order is %s after the timeout", fo.State)
	}
	if w.count(t, `SELECT stock FROM skus WHERE id = 'p1-a'`) != 10 {
		t.Fatal("stock not released")
	}

	// A second order whose close WeChat Pay wrongly acknowledged: its money
	// lands after the release and goes back automatically.
	o2 := w.submit(t, "u2", "k1")
	if _, err := w.payments.Pay(ctx, "u2", o2.ID, "openid", "x"); err != nil {
		t.Fatal(err)
	}
	body, err := w.fake.Pay(o2.ID + "_1")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.orders.Cancel(ctx, "u2", o2.ID, acknowledging{}); err != nil {
		t.Fatal(err)
	}
	if code := w.deliver(t, w.notify.Payment(), body); code != http.StatusOK {
		t.Fatalf("late notify: %d", code)
	}
	if got := w.order(t, o2.ID); got.Pay != order.PaidAfterClose || got.Refund != order.Refunding {
		t.Fatalf("late payment: %s / %s", got.Pay, got.Refund)
	}
	if n, err := w.payments.SendRefunds(ctx, 10); err != nil || n != 1 {
		t.Fatalf("send refunds: %d %v", n, err)
	}
	if n, _ := w.payments.SendRefunds(ctx, 10); n != 0 {
		t.Fatal("a processing refund was sent again")
	}
	rb, err := w.fake.RefundNotifyBody("r"+o2.ID+"_1", "SUCCESS")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if code := w.deliver(t, w.notify.Refund(), rb); code != http.StatusOK {
			t.Fatalf("refund notify: %d", code)
		}
	}
	if got := w.order(t, o2.ID); got.Refund != order.Refunded {
		t.Fatalf("refund state %s", got.Refund)
	}
	if n := w.count(t, `SELECT count(*) FROM event_outbox WHERE event_type IN ('order_paid', 'order_refunded')`); n != 0 {
		t.Fatalf("%d paid/refunded events for orders never paid in time", n)
	}
	if n := w.count(t, `SELECT count(*) FROM event_outbox WHERE event_type = 'order_cancelled'`); n != 2 {
		t.Fatalf("%d cancelled events, want 2", n)
	}
}

// acknowledging closes nothing and says it did.
type acknowledging struct{}

func (acknowledging) ClosePayment(context.Context, string) error { return nil }
