package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/ingest/outbox"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// orderFixture: SKU a (stock 10, 100 fen), b (stock 5, 200 fen) of product
// p00000 of merchant m00, and the event outbox migrated.
func orderFixture(t *testing.T, opts ...postgres.OrdersOption) (*postgres.Store, *postgres.Orders) {
	t.Helper()
	s := stockFixture(t, 10, 5)
	if err := outbox.Migrate(context.Background(), s.Pool(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return s, s.Orders(s.NewFlashSeller(), outboxAdd, opts...)
}

func outboxAdd(ctx context.Context, ex postgres.Execer, evs ...*tidev1.Event) error {
	return outbox.Add(ctx, ex, evs...)
}

func newOrder(user, key string, qtyA, qtyB int64) order.Order {
	o := order.Order{UserID: user, MerchantID: "m00", RoomID: "room1", IdempotencyKey: key}
	if qtyA > 0 {
		o.Lines = append(o.Lines, order.Line{ProductID: "p00000", SKUID: "a", UnitFen: 100, Quantity: qtyA, TotalFen: 100 * qtyA, PayFen: 100 * qtyA})
	}
	if qtyB > 0 {
		o.Lines = append(o.Lines, order.Line{ProductID: "p00000", SKUID: "b", UnitFen: 200, Quantity: qtyB, TotalFen: 200 * qtyB, PayFen: 200 * qtyB})
	}
	for _, l := range o.Lines {
		o.TotalFen += l.TotalFen
		o.PayFen += l.PayFen
	}
	return o
}

func events(t *testing.T, s *postgres.Store, typ string) int {
	t.Helper()
	return count(t, s, `SELECT count(*) FROM event_outbox WHERE event_type = $1`, typ)
}

type closer struct {
	calls  atomic.Int64
	err    error
	before func() // runs inside ClosePayment
}

func (c *closer) ClosePayment(ctx context.Context, outTradeNo string) error {
	c.calls.Add(1)
	if c.before != nil {
		c.before()
	}
	return c.err
}

func TestSubmitIsIdempotent(t *testing.T) {
	s, orders := orderFixture(t)
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		created atomic.Int64
		ids     sync.Map
	)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, c, err := orders.Submit(ctx, newOrder("u1", "tap-1", 2, 1))
			if err != nil {
				t.Error(err)
				return
			}
			if c {
				created.Add(1)
			}
			ids.Store(o.ID, true)
		}()
	}
	wg.Wait()
	n := 0
	ids.Range(func(any, any) bool { n++; return true })
	if created.Load() != 1 || n != 1 {
		t.Fatalf("10 submits with one key: %d created, %d ids", created.Load(), n)
	}
	if a, b := skuStock(t, s, "a"), skuStock(t, s, "b"); a != 8 || b != 4 {
		t.Fatalf("stock a=%d b=%d, want 8 4 (held once)", a, b)
	}
	if n := events(t, s, "order_created"); n != 1 {
		t.Fatalf("%d order_created events", n)
	}
	o, _, err := orders.Submit(ctx, newOrder("u1", "tap-2", 1, 0))
	if err != nil || o.Pay != order.Unpaid || o.PayFen != 100 || len(o.Lines) != 1 {
		t.Fatalf("second order: %+v %v", o, err)
	}
	if _, _, err := orders.Submit(ctx, newOrder("u1", "tap-3", 100, 0)); !errors.Is(err, commerce.ErrOutOfStock) {
		t.Fatalf("too many: %v", err)
	}
	if n := count(t, s, `SELECT count(*) FROM orders`); n != 2 {
		t.Fatalf("%d orders, want 2 (the out-of-stock one rolled back)", n)
	}
	list, err := orders.List(ctx, postgres.ListFilter{UserID: "u1"})
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %d %v", len(list), err)
	}
	if _, err := orders.UserOrder(ctx, "u2", o.ID); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("another user's order: %v", err)
	}
	if _, err := orders.MerchantOrder(ctx, "m01", o.ID); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("another merchant's order: %v", err)
	}
}

func TestCancelClosesPaymentBeforeRelease(t *testing.T) {
	s, orders := orderFixture(t)
	ctx := context.Background()
	o, _, err := orders.Submit(ctx, newOrder("u1", "k", 3, 0))
	if err != nil {
		t.Fatal(err)
	}
	a, created, err := orders.OpenAttempt(ctx, "u1", o.ID)
	if err != nil || !created || a.AmountFen != 300 || !a.ExpiresAt.Equal(o.ExpiresAt) {
		t.Fatalf("attempt %+v created=%v %v (expires %v)", a, created, err, o.ExpiresAt)
	}
	if again, created, _ := orders.OpenAttempt(ctx, "u1", o.ID); created || again.OutTradeNo != a.OutTradeNo {
		t.Fatalf("second OpenAttempt made %+v, want the open one reused", again)
	}
	if err := orders.Cancel(ctx, "u2", o.ID, &closer{}); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("another user cancels: %v", err)
	}
	c := &closer{}
	c.before = func() {
		if st := skuStock(t, s, "a"); st != 7 {
			t.Errorf("stock %d while closing the payment: released before the close", st)
		}
	}
	if err := orders.Cancel(ctx, "u1", o.ID, c); err != nil {
		t.Fatal(err)
	}
	if c.calls.Load() != 1 || skuStock(t, s, "a") != 10 {
		t.Fatalf("closes %d, stock %d", c.calls.Load(), skuStock(t, s, "a"))
	}
	got, _ := orders.Order(ctx, o.ID)
	if got.Pay != order.Closed || events(t, s, "order_cancelled") != 1 {
		t.Fatalf("after cancel: %s, %d cancelled events", got.Pay, events(t, s, "order_cancelled"))
	}
	if err := orders.Cancel(ctx, "u1", o.ID, c); !errors.Is(err, postgres.ErrNotUnpaid) {
		t.Fatalf("second cancel: %v", err)
	}
	if skuStock(t, s, "a") != 10 {
		t.Fatal("second cancel released again")
	}
	ts, _ := orders.Transitions(ctx, o.ID)
	if last := ts[len(ts)-1]; len(ts) != 4 || last.From != order.Unpaid || last.To != order.Closed {
		t.Fatalf("transitions %+v", ts)
	}
}

func TestPaymentTimeoutIsDurable(t *testing.T) {
	s, orders := orderFixture(t, postgres.WithPaymentTimeout(time.Millisecond), postgres.WithTimerRetry(time.Hour))
	ctx := context.Background()
	o, _, err := orders.Submit(ctx, newOrder("u1", "k", 4, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := orders.OpenAttempt(ctx, "u1", o.ID); !errors.Is(err, postgres.ErrNotUnpaid) {
		// expired already: no new payment may start
		t.Fatalf("attempt on an expired order: %v", err)
	}
	time.Sleep(5 * time.Millisecond)
	// The provider is down: nothing is released, the timer waits.
	down := &closer{err: errors.New("connection refused")}
	// An attempt the provider must close (OpenAttempt refuses expired orders).
	if _, err := s.Pool().Exec(ctx, `INSERT INTO payment_attempts (out_trade_no, order_id, amount_fen, expires_at) VALUES ($1, $2, 400, now())`, o.ID+"_1", o.ID); err != nil {
		t.Fatal(err)
	}
	// A second Orders over the same database: another process's timers.
	other := s.Orders(nil, outboxAdd, postgres.WithTimerRetry(time.Hour))
	if n, err := other.ExpireDue(ctx, down, 10); err != nil || n != 0 {
		t.Fatalf("expire with the provider down: %d %v", n, err)
	}
	if skuStock(t, s, "a") != 6 || count(t, s, `SELECT count(*) FROM order_timers WHERE due_at > now() + interval '30 minutes'`) != 1 {
		t.Fatal("a failed close released stock or did not push the timer back")
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE order_timers SET due_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	up := &closer{}
	if n, err := orders.ExpireDue(ctx, up, 10); err != nil || n != 1 || up.calls.Load() != 1 {
		t.Fatalf("expire: %d %v (closes %d)", n, err, up.calls.Load())
	}
	got, _ := orders.Order(ctx, o.ID)
	if got.Pay != order.Closed || skuStock(t, s, "a") != 10 || count(t, s, `SELECT count(*) FROM order_timers`) != 0 {
		t.Fatalf("after timeout: %s, stock %d", got.Pay, skuStock(t, s, "a"))
	}

	// The payment lands after the release: refunded automatically.
	out, err := orders.MarkPaid(ctx, postgres.Payment{OutTradeNo: o.ID + "_1", TransactionID: "wx1", AmountFen: 400})
	if err != nil || out != postgres.RefundQueued {
		t.Fatalf("late payment: %s %v", out, err)
	}
	got, _ = orders.Order(ctx, o.ID)
	refunds, _ := orders.PendingRefunds(ctx, 10)
	if got.Pay != order.PaidAfterClose || got.Refund != order.Refunding || len(refunds) != 1 || refunds[0].AmountFen != 400 {
		t.Fatalf("late payment: pay %s refund %s, refunds %+v", got.Pay, got.Refund, refunds)
	}
	if events(t, s, "order_paid") != 0 || skuStock(t, s, "a") != 10 {
		t.Fatal("a late payment counted as paid or took stock")
	}
}

func TestMarkPaid(t *testing.T) {
	s, orders := orderFixture(t)
	ctx := context.Background()
	o, _, err := orders.Submit(ctx, newOrder("u1", "k", 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := orders.OpenAttempt(ctx, "u1", o.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The notice arrives before the prepay response was stored: fine.
	if _, err := orders.MarkPaid(ctx, postgres.Payment{OutTradeNo: a.OutTradeNo, AmountFen: 499}); !errors.Is(err, postgres.ErrAmountMismatch) {
		t.Fatalf("wrong amount: %v", err)
	}
	if got, _ := orders.Order(ctx, o.ID); got.Pay != order.Unpaid {
		t.Fatal("a wrong amount changed the order")
	}
	var (
		wg     sync.WaitGroup
		counts sync.Map
	)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := orders.MarkPaid(ctx, postgres.Payment{OutTradeNo: a.OutTradeNo, TransactionID: fmt.Sprint("wx", i), AmountFen: 500})
			if err != nil {
				t.Error(err)
				return
			}
			v, _ := counts.LoadOrStore(out, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
		}()
	}
	wg.Wait()
	paid, _ := counts.Load(postgres.OrderPaid)
	dup, _ := counts.Load(postgres.AlreadyPaid)
	if paid == nil || paid.(*atomic.Int64).Load() != 1 || dup == nil || dup.(*atomic.Int64).Load() != 11 {
		t.Fatalf("12 concurrent notices: %v paid, %v duplicates", paid, dup)
	}
	if err := orders.SetPrepay(ctx, a.OutTradeNo, "wx-prepay"); err != nil {
		t.Fatal(err)
	}
	got, _ := orders.Order(ctx, o.ID)
	if got.Pay != order.Paid || got.PaidAt.IsZero() || events(t, s, "order_paid") != 1 {
		t.Fatalf("after payment: %s, %d paid events", got.Pay, events(t, s, "order_paid"))
	}
	states, _ := s.Holds(ctx, o.ID)
	for h, st := range states {
		if st != commerce.Sold {
			t.Fatalf("hold %+v is %s after payment", h, st)
		}
	}
	if count(t, s, `SELECT count(*) FROM order_timers`) != 0 {
		t.Fatal("a paid order kept its timeout")
	}
	if err := orders.Cancel(ctx, "u1", o.ID, &closer{}); !errors.Is(err, postgres.ErrNotUnpaid) {
		t.Fatalf("cancel a paid order: %v", err)
	}
	if _, err := orders.MarkPaid(ctx, postgres.Payment{OutTradeNo: "nope", AmountFen: 1}); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("unknown out_trade_no: %v", err)
	}
}

func TestFlashSaleOrder(t *testing.T) {
	s, orders := orderFixture(t)
	ctx := context.Background()
	if err := s.CreateFlashSale(ctx, flashSale("fs", 2, 1)); err != nil {
		t.Fatal(err)
	}
	flash := func(user, key string) order.Order {
		o := order.Order{UserID: user, MerchantID: "m00", IdempotencyKey: key, FlashSaleID: "fs", TotalFen: 1, PayFen: 1,
			Lines: []order.Line{{ProductID: "p00000", SKUID: "a", UnitFen: 1, Quantity: 1, TotalFen: 1, PayFen: 1}}}
		return o
	}
	o1, created, err := orders.Submit(ctx, flash("u1", "k"))
	if err != nil || !created || o1.FlashSaleID != "fs" {
		t.Fatalf("flash order: %+v %v %v", o1, created, err)
	}
	if again, created, err := orders.Submit(ctx, flash("u1", "k")); err != nil || created || again.ID != o1.ID {
		t.Fatalf("repeat: %v %v", created, err)
	}
	if _, _, err := orders.Submit(ctx, flash("u1", "k2")); !errors.Is(err, commerce.ErrLimitReached) {
		t.Fatalf("second order of a limit-1 user: %v", err)
	}
	bad := flash("u2", "k")
	bad.Lines[0].UnitFen = 0
	var fe *commerce.FieldError
	if _, _, err := orders.Submit(ctx, bad); !errors.As(err, &fe) {
		t.Fatalf("a flash order at the wrong price: %v", err)
	}
	if _, _, err := orders.Submit(ctx, flash("u2", "k")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := orders.Submit(ctx, flash("u3", "k")); !errors.Is(err, commerce.ErrSoldOut) {
		t.Fatalf("third buyer of 2 units: %v", err)
	}
	if n := count(t, s, `SELECT count(*) FROM orders`); n != 2 || events(t, s, "order_created") != 2 {
		t.Fatalf("%d orders, %d events", n, events(t, s, "order_created"))
	}
	// Cancelling gives the unit back and the next buyer gets it.
	if err := orders.Cancel(ctx, "u1", o1.ID, &closer{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := orders.Submit(ctx, flash("u3", "k")); err != nil {
		t.Fatalf("after a cancel: %v", err)
	}
}
