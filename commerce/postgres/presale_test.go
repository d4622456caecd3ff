package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/postgres"
)

// presaleFixture creates presale "ps" of sku a (merchant m00) in its
// deposit window.
func presaleFixture(t *testing.T, price, deposit, deduction, allotment, limit int64, opts ...postgres.OrdersOption) (*postgres.Store, *postgres.Orders) {
	t.Helper()
	s, orders := orderFixture(t, opts...)
	now := time.Now()
	p := commerce.Presale{ID: "ps", MerchantID: "m00", SKUID: "a", PriceFen: price, DepositFen: deposit, DeductionFen: deduction,
		Allotment: allotment, PerUserLimit: limit, DepositStartsAt: now.Add(-time.Hour), DepositEndsAt: now.Add(time.Hour),
		BalanceStartsAt: now.Add(time.Hour), BalanceEndsAt: now.Add(2 * time.Hour)}
	if err := s.CreatePresale(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return s, orders
}

// phase moves presale id's windows so that now is in its deposit window,
// its balance window, or after both.
func phase(t *testing.T, s *postgres.Store, id, name string) {
	t.Helper()
	h := map[string]int{"deposit": 0, "balance": 1, "over": 2}[name]
	_, err := s.Pool().Exec(context.Background(), `
		UPDATE presales SET deposit_starts_at = now() - make_interval(hours => $2 + 1), deposit_ends_at = now() - make_interval(hours => $2) + interval '1 hour',
			balance_starts_at = now() - make_interval(hours => $2) + interval '1 hour', balance_ends_at = now() - make_interval(hours => $2) + interval '2 hours' - make_interval(secs => $3)
		WHERE id = $1`, id, h, map[bool]int{true: 1, false: 0}[name == "over"])
	if err != nil {
		t.Fatal(err)
	}
}

func deposit(t *testing.T, orders *postgres.Orders, user, key string, qty int64) order.Order {
	t.Helper()
	o, _, err := orders.SubmitDeposit(context.Background(), postgres.PresaleBuy{UserID: user, IdempotencyKey: key, PresaleID: "ps", Quantity: qty})
	if err != nil {
		t.Fatalf("deposit of %s: %v", user, err)
	}
	return o
}

func payOrder(t *testing.T, orders *postgres.Orders, o order.Order) {
	t.Helper()
	ctx := context.Background()
	a, _, err := orders.OpenAttempt(ctx, o.UserID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := orders.MarkPaid(ctx, postgres.Payment{OutTradeNo: a.OutTradeNo, AmountFen: a.AmountFen}); err != nil || out != postgres.OrderPaid {
		t.Fatalf("pay %s: %s %v", o.ID, out, err)
	}
}

func entryState(t *testing.T, orders *postgres.Orders, o order.Order) commerce.PresaleState {
	t.Helper()
	e, err := orders.PresaleEntry(context.Background(), o.UserID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return e.State
}

func presaleRemaining(t *testing.T, s *postgres.Store) int64 {
	t.Helper()
	p, err := s.Presale(context.Background(), "ps")
	if err != nil {
		t.Fatal(err)
	}
	return p.Remaining
}

func TestPresaleHappyPath(t *testing.T) {
	s, orders := presaleFixture(t, 1000, 100, 150, 5, 2)
	ctx := context.Background()
	stockBefore := skuStock(t, s, "a")
	dep := deposit(t, orders, "u1", "k1", 1)
	if dep.PayFen != 100 || dep.Lines[0].UnitFen != 100 || !dep.ExpiresAt.Before(time.Now().Add(time.Hour)) {
		t.Fatalf("deposit order: %+v", dep)
	}
	if again, created, err := orders.SubmitDeposit(ctx, postgres.PresaleBuy{UserID: "u1", IdempotencyKey: "k1", PresaleID: "ps", Quantity: 1}); err != nil || created || again.ID != dep.ID {
		t.Fatalf("the same deposit again: %v %v %v", again.ID, created, err)
	}
	if r := presaleRemaining(t, s); r != 4 {
		t.Fatalf("remaining %d after one deposit, want 4", r)
	}
	if got := skuStock(t, s, "a"); got != stockBefore {
		t.Fatalf("sku stock %d → %d: presale stock is its own", stockBefore, got)
	}
	payOrder(t, orders, dep)
	if st := entryState(t, orders, dep); st != commerce.DepositPaid {
		t.Fatalf("after the deposit: %s", st)
	}
	if _, _, err := orders.SubmitBalance(ctx, "u1", dep.ID, "", "b1"); !errors.Is(err, commerce.ErrNotStarted) {
		t.Fatalf("balance in the deposit window: %v", err)
	}
	if _, _, err := orders.SubmitBalance(ctx, "u2", dep.ID, "", "b1"); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("balance of another user's entry: %v", err)
	}
	if err := orders.RequestRefund(ctx, "u1", dep.ID, "changed my mind"); !errors.Is(err, postgres.ErrNoRefundRequest) {
		t.Fatalf("refund request of a deposit: %v", err)
	}

	phase(t, s, "ps", "balance")
	var fe *commerce.FieldError
	if _, _, err := orders.SubmitBalance(ctx, "u1", dep.ID, "room1", "k1"); !errors.As(err, &fe) || fe.Field != "idempotency_key" {
		t.Fatalf("a balance with the deposit's key: %v", err)
	}
	bal, created, err := orders.SubmitBalance(ctx, "u1", dep.ID, "room1", "b1")
	if err != nil || !created {
		t.Fatalf("balance: %v %v", created, err)
	}
	if bal.TotalFen != 1000 || bal.DiscountFen != 150 || bal.PayFen != 850 {
		t.Fatalf("balance order: total %d discount %d pay %d, want 1000/150/850", bal.TotalFen, bal.DiscountFen, bal.PayFen)
	}
	if again, created, err := orders.SubmitBalance(ctx, "u1", dep.ID, "room1", "b2"); err != nil || created || again.ID != bal.ID {
		t.Fatalf("a second balance submit: %v %v %v", again.ID, created, err)
	}
	payOrder(t, orders, bal)
	if st := entryState(t, orders, dep); st != commerce.PresaleCompleted {
		t.Fatalf("after the balance: %s", st)
	}
	if err := orders.Ship(ctx, "m00", dep.ID, commerce.Shipment{ExpressCompany: "YTO", TrackingNo: "YT1"}); !errors.Is(err, postgres.ErrCannotShip) {
		t.Fatalf("shipping the deposit order: %v", err)
	}
	if err := orders.Ship(ctx, "m00", bal.ID, commerce.Shipment{ExpressCompany: "YTO", TrackingNo: "YT1"}); err != nil {
		t.Fatalf("shipping the balance order: %v", err)
	}
	phase(t, s, "ps", "over")
	if n, err := orders.ExpirePresales(ctx, 10); err != nil || n != 0 {
		t.Fatalf("expire after completion: %d %v", n, err)
	}
	if got := count(t, s, `SELECT count(*) FROM presale_transitions WHERE deposit_order_id = $1`, dep.ID); got != 3 {
		t.Fatalf("%d entry transitions, want 3 (submitted, deposit paid, balance paid)", got)
	}
	if got := events(t, s, "order_paid"); got != 2 {
		t.Fatalf("%d ORDER_PAID events, want 2 (deposit, balance)", got)
	}
	if r := presaleRemaining(t, s); r != 4 {
		t.Fatalf("remaining %d after a completed purchase, want 4", r)
	}
}

func TestPresaleForfeit(t *testing.T) {
	s, orders := presaleFixture(t, 1000, 100, 150, 5, 2)
	ctx := context.Background()
	dep := deposit(t, orders, "u1", "k1", 2)
	payOrder(t, orders, dep)
	unpaid := deposit(t, orders, "u2", "k1", 1)
	if r := presaleRemaining(t, s); r != 2 {
		t.Fatalf("remaining %d, want 2", r)
	}
	// An unpaid deposit that closes gives its units back.
	if err := orders.Cancel(ctx, "u2", unpaid.ID, &closer{}); err != nil {
		t.Fatal(err)
	}
	if st := entryState(t, orders, unpaid); st != commerce.PresaleReleased {
		t.Fatalf("closed deposit: %s", st)
	}
	if r := presaleRemaining(t, s); r != 3 {
		t.Fatalf("remaining %d after a released deposit, want 3", r)
	}

	phase(t, s, "ps", "balance")
	if _, _, err := orders.SubmitBalance(ctx, "u2", unpaid.ID, "", "b1"); !errors.Is(err, commerce.ErrPresaleState) {
		t.Fatalf("balance of a released deposit: %v", err)
	}
	bal, _, err := orders.SubmitBalance(ctx, "u1", dep.ID, "", "b1")
	if err != nil {
		t.Fatal(err)
	}
	phase(t, s, "ps", "over")
	// The balance order is still unpaid (a payment made in time may be on
	// its way): the entry waits for it.
	if n, err := orders.ExpirePresales(ctx, 10); err != nil || n != 0 {
		t.Fatalf("expire with an unpaid balance order: %d %v", n, err)
	}
	if err := orders.Cancel(ctx, "u1", bal.ID, &closer{}); err != nil {
		t.Fatal(err)
	}
	if st := entryState(t, orders, dep); st != commerce.DepositPaid {
		t.Fatalf("after the balance order closed: %s", st)
	}
	if n, err := orders.ExpirePresales(ctx, 10); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	if st := entryState(t, orders, dep); st != commerce.DepositForfeited {
		t.Fatalf("after the balance window: %s", st)
	}
	if r := presaleRemaining(t, s); r != 5 {
		t.Fatalf("remaining %d after the forfeit, want all 5 back", r)
	}
	if _, _, err := orders.SubmitBalance(ctx, "u1", dep.ID, "", "b2"); !errors.Is(err, commerce.ErrEnded) {
		t.Fatalf("balance after its window: %v", err)
	}
	o, err := orders.Order(ctx, dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Pay != order.Paid || o.Refund != order.NoRefund {
		t.Fatalf("forfeited deposit order: %s / %s, want paid and kept", o.Pay, o.Refund)
	}
	if rs, _ := orders.PendingRefunds(ctx, 10); len(rs) != 0 {
		t.Fatalf("%d refunds queued for a forfeited deposit", len(rs))
	}
	if n, err := orders.ExpirePresales(ctx, 10); err != nil || n != 0 {
		t.Fatalf("expire again: %d %v", n, err)
	}
}

func TestPresaleDepositTimeoutReleasesUnits(t *testing.T) {
	s, orders := presaleFixture(t, 1000, 100, 150, 5, 1, postgres.WithPaymentTimeout(time.Second))
	ctx := context.Background()
	dep := deposit(t, orders, "u1", "k1", 1)
	if _, _, err := orders.SubmitDeposit(ctx, postgres.PresaleBuy{UserID: "u1", IdempotencyKey: "k2", PresaleID: "ps", Quantity: 1}); !errors.Is(err, commerce.ErrLimitReached) {
		t.Fatalf("a second unit at a limit of one: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if n, err := orders.ExpireDue(ctx, &closer{}, 10); err != nil || n != 1 {
		t.Fatalf("timeouts: %d %v", n, err)
	}
	if st := entryState(t, orders, dep); st != commerce.PresaleReleased {
		t.Fatalf("timed-out deposit: %s", st)
	}
	if r := presaleRemaining(t, s); r != 5 {
		t.Fatalf("remaining %d after the timeout, want 5", r)
	}
	// The units and the buyer's limit came back.
	deposit(t, orders, "u1", "k3", 1)
}

func TestPresaleDeductionLargerThanPrice(t *testing.T) {
	s, orders := presaleFixture(t, 120, 100, 150, 5, 5)
	ctx := context.Background()
	dep := deposit(t, orders, "u1", "k1", 3)
	payOrder(t, orders, dep)
	phase(t, s, "ps", "balance")
	bal, created, err := orders.SubmitBalance(ctx, "u1", dep.ID, "", "b1")
	if err != nil || !created {
		t.Fatalf("balance: %v %v", created, err)
	}
	if bal.TotalFen != 360 || bal.DiscountFen != 360 || bal.PayFen != 0 || bal.Pay != order.Paid {
		t.Fatalf("balance order: %d/%d/%d %s, want 360/360/0 paid", bal.TotalFen, bal.DiscountFen, bal.PayFen, bal.Pay)
	}
	stored, err := orders.Order(ctx, bal.ID)
	if err != nil || stored.Pay != order.Paid || stored.PayFen != 0 {
		t.Fatalf("stored balance order: %+v %v", stored, err)
	}
	if st := entryState(t, orders, dep); st != commerce.PresaleCompleted {
		t.Fatalf("entry: %s", st)
	}
	if got := events(t, s, "order_paid"); got != 2 {
		t.Fatalf("%d ORDER_PAID events, want 2", got)
	}
	// Nothing of the balance order went through WeChat Pay: its shipment
	// needs no WeChat upload.
	if err := orders.Ship(ctx, "m00", bal.ID, commerce.Shipment{ExpressCompany: "YTO", TrackingNo: "YT1"}); err != nil {
		t.Fatal(err)
	}
	if sh, ok, err := orders.Shipment(ctx, bal.ID); err != nil || !ok || sh.UploadState != commerce.UploadNotRequired || sh.TrackingNo != "YT1" {
		t.Fatalf("shipment of a balance of 0: %+v %v %v", sh, ok, err)
	}
	if us, err := orders.ClaimShipments(ctx, 10, time.Minute); err != nil || len(us) != 0 {
		t.Fatalf("claimed %v %v, want nothing to upload", us, err)
	}
}

func TestPresaleConcurrentDepositsKeepTheAllotment(t *testing.T) {
	s, orders := presaleFixture(t, 1000, 100, 150, 20, 1)
	ctx := context.Background()
	var (
		wg                 sync.WaitGroup
		ok, soldOut, other atomic.Int64
	)
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := orders.SubmitDeposit(ctx, postgres.PresaleBuy{UserID: fmt.Sprintf("u%02d", i), IdempotencyKey: "k", PresaleID: "ps", Quantity: 1})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, commerce.ErrSoldOut):
				soldOut.Add(1)
			default:
				other.Add(1)
				t.Errorf("deposit %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 20 || soldOut.Load() != 40 {
		t.Fatalf("%d deposits, %d sold out, %d other; want 20 and 40", ok.Load(), soldOut.Load(), other.Load())
	}
	if r := presaleRemaining(t, s); r != 0 {
		t.Fatalf("remaining %d, want 0", r)
	}
	if got := count(t, s, `SELECT coalesce(sum(quantity), 0)::int FROM presale_entries WHERE presale_id = 'ps'`); got != 20 {
		t.Fatalf("entries hold %d units, want 20", got)
	}
}

func TestPresalePerUserLimit(t *testing.T) {
	s, orders := presaleFixture(t, 1000, 100, 150, 50, 2)
	ctx := context.Background()
	var (
		wg        sync.WaitGroup
		ok, limit atomic.Int64
	)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := orders.SubmitDeposit(ctx, postgres.PresaleBuy{UserID: "u1", IdempotencyKey: fmt.Sprintf("k%d", i), PresaleID: "ps", Quantity: 1})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, commerce.ErrLimitReached):
				limit.Add(1)
			default:
				t.Errorf("deposit %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 2 || limit.Load() != 8 {
		t.Fatalf("%d deposits, %d refused by the limit; want 2 and 8", ok.Load(), limit.Load())
	}
	if _, _, err := orders.SubmitDeposit(ctx, postgres.PresaleBuy{UserID: "u2", IdempotencyKey: "k", PresaleID: "ps", Quantity: 3}); !errors.Is(err, commerce.ErrLimitReached) {
		t.Fatalf("3 units at a limit of 2: %v", err)
	}
	if r := presaleRemaining(t, s); r != 48 {
		t.Fatalf("remaining %d, want 48 (refused deposits take nothing)", r)
	}
}

func TestPresaleMerchantCancelRefunds(t *testing.T) {
	s, orders := presaleFixture(t, 1000, 100, 150, 10, 2)
	ctx := context.Background()
	paid := deposit(t, orders, "u1", "k", 1)
	payOrder(t, orders, paid)
	done := deposit(t, orders, "u2", "k", 1)
	payOrder(t, orders, done)
	unpaid := deposit(t, orders, "u3", "k", 1)
	attempt, _, err := orders.OpenAttempt(ctx, "u3", unpaid.ID)
	if err != nil {
		t.Fatal(err)
	}
	phase(t, s, "ps", "balance")
	bal, _, err := orders.SubmitBalance(ctx, "u2", done.ID, "", "b")
	if err != nil {
		t.Fatal(err)
	}
	payOrder(t, orders, bal)

	if err := orders.CancelPresale(ctx, "m01", "ps"); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("another merchant's cancel: %v", err)
	}
	if err := orders.CancelPresale(ctx, "m00", "ps"); err != nil {
		t.Fatal(err)
	}
	for _, o := range []order.Order{paid, done, unpaid} {
		if st := entryState(t, orders, o); st != commerce.PresaleCancelled {
			t.Fatalf("entry %s: %s", o.UserID, st)
		}
	}
	refunds, err := orders.PendingRefunds(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{paid.ID: 100, done.ID: 100, bal.ID: 850}
	if len(refunds) != len(want) {
		t.Fatalf("%d refunds, want %d: %+v", len(refunds), len(want), refunds)
	}
	for _, r := range refunds {
		if want[r.OrderID] != r.AmountFen {
			t.Fatalf("refund %+v, want %d", r, want[r.OrderID])
		}
	}
	// A deposit paid after the cancel is refunded at once.
	if out, err := orders.MarkPaid(ctx, postgres.Payment{OutTradeNo: attempt.OutTradeNo, AmountFen: attempt.AmountFen}); err != nil || out != postgres.OrderPaid {
		t.Fatalf("late deposit: %s %v", out, err)
	}
	if o, _ := orders.Order(ctx, unpaid.ID); o.Refund != order.Refunding {
		t.Fatalf("a deposit paid after the cancel: refund %s", o.Refund)
	}
	if err := orders.RefundDone(ctx, refunds[0].OutRefundNo, true); err != nil {
		t.Fatal(err)
	}
	if got := events(t, s, "order_refunded"); got != 1 {
		t.Fatalf("%d ORDER_REFUNDED events, want 1", got)
	}
	if r := presaleRemaining(t, s); r != 10 {
		t.Fatalf("remaining %d after the cancel, want 10", r)
	}
	if err := orders.CancelPresale(ctx, "m00", "ps"); err != nil {
		t.Fatalf("cancel again: %v", err)
	}
	if rs, _ := orders.PendingRefunds(ctx, 10); len(rs) != 3 {
		t.Fatalf("%d refunds pending after a second cancel, want 3 (nothing twice)", len(rs))
	}
	phase(t, s, "ps", "deposit")
	if _, _, err := orders.SubmitDeposit(ctx, postgres.PresaleBuy{UserID: "u9", IdempotencyKey: "k", PresaleID: "ps", Quantity: 1}); !errors.Is(err, commerce.ErrPresaleCancelled) {
		t.Fatalf("deposit of a cancelled presale: %v", err)
	}
}

func TestCreatePresaleRefusesAnotherMerchantsSKU(t *testing.T) {
	s, _ := presaleFixture(t, 1000, 100, 150, 10, 2)
	now := time.Now()
	p := commerce.Presale{ID: "ps2", MerchantID: "m01", SKUID: "a", PriceFen: 1000, DepositFen: 100, DeductionFen: 150, Allotment: 1, PerUserLimit: 1,
		DepositStartsAt: now, DepositEndsAt: now.Add(time.Hour), BalanceStartsAt: now.Add(time.Hour), BalanceEndsAt: now.Add(2 * time.Hour)}
	if err := s.CreatePresale(context.Background(), p); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("another merchant's sku: %v", err)
	}
	p.ID, p.MerchantID = "ps", "m00"
	var fe *commerce.FieldError
	if err := s.CreatePresale(context.Background(), p); !errors.As(err, &fe) || fe.Field != "presale.id" {
		t.Fatalf("a taken id: %v", err)
	}
}
