package checkout_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/postgres"
)

// The forfeit of a deposit whose balance was not paid is driven by the
// payments loop serve runs (Payments.Run), not only by the store method:
// a deposit paid through WeChat Pay is kept and its units go back to the
// allotment once the balance window is over, while the loop is running.
func TestRunForfeitsUnpaidPresaleBalance(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	now := time.Now()
	p := commerce.Presale{ID: "ps-run", MerchantID: "m1", SKUID: "p1-a", PriceFen: 2990, DepositFen: 500, DeductionFen: 800,
		Allotment: 5, PerUserLimit: 3, DepositStartsAt: now.Add(-time.Hour), DepositEndsAt: now.Add(time.Hour),
		BalanceStartsAt: now.Add(time.Hour), BalanceEndsAt: now.Add(2 * time.Hour)}
	if err := w.store.CreatePresale(ctx, p); err != nil {
		t.Fatal(err)
	}
	dep, _, err := w.orders.SubmitDeposit(ctx, postgres.PresaleBuy{UserID: "u1", IdempotencyKey: "d1", PresaleID: p.ID, Quantity: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.payments.Pay(ctx, "u1", dep.ID, "openid-u1", "定金"); err != nil {
		t.Fatal(err)
	}
	body, err := w.fake.Pay(dep.ID + "_1")
	if err != nil {
		t.Fatal(err)
	}
	if code := w.deliver(t, w.notify.Payment(), body); code != http.StatusOK {
		t.Fatalf("deposit notify: %d", code)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.payments.Run(runCtx, 20*time.Millisecond) }()
	defer func() {
		stop()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run ended with %v", err)
		}
	}()

	// In the balance window the loop leaves the paid deposit alone: wait
	// for a loop pass (it closes a probe order that timed out, then looks
	// at presales), then check the entry.
	if _, err := w.store.Pool().Exec(ctx, `UPDATE presales SET deposit_starts_at = now() - interval '2 hours', deposit_ends_at = now() - interval '1 hour',
		balance_starts_at = now() - interval '1 hour', balance_ends_at = now() + interval '1 hour' WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	probe := w.submit(t, "u2", "probe")
	for _, q := range []string{`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = $1`, `UPDATE order_timers SET due_at = now() - interval '1 second' WHERE order_id = $1`} {
		if _, err := w.store.Pool().Exec(ctx, q, probe.ID); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the loop to close the probe order", func() bool { return w.order(t, probe.ID).Pay == order.Closed })
	if e := w.entry(t, dep); e.State != commerce.DepositPaid {
		t.Fatalf("entry is %s inside its balance window", e.State)
	}
	if n := w.count(t, `SELECT remaining FROM presales WHERE id = $1`, p.ID); n != 3 {
		t.Fatalf("remaining %d in the balance window, want 3", n)
	}

	// The balance window ends with the balance unpaid.
	if _, err := w.store.Pool().Exec(ctx, `UPDATE presales SET balance_ends_at = now() - interval '1 second' WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the loop to forfeit the deposit", func() bool { return w.entry(t, dep).State == commerce.DepositForfeited })

	if n := w.count(t, `SELECT remaining FROM presales WHERE id = $1`, p.ID); n != 5 {
		t.Fatalf("remaining %d after the forfeit, want the whole allotment 5", n)
	}
	if n := w.count(t, `SELECT quantity FROM presale_buyers WHERE presale_id = $1 AND user_id = 'u1'`, p.ID); n != 0 {
		t.Fatalf("u1 still holds %d units", n)
	}
	got := w.order(t, dep.ID)
	if got.Pay != order.Paid || got.Refund != order.Initial[order.Refund] {
		t.Fatalf("forfeited deposit order is %s / refund %s; the deposit is kept", got.Pay, got.Refund)
	}
	if n := w.count(t, `SELECT count(*) FROM refunds WHERE order_id = $1`, dep.ID); n != 0 {
		t.Fatalf("%d refunds of a forfeited deposit", n)
	}
	if n := w.count(t, `SELECT count(*) FROM presale_transitions WHERE deposit_order_id = $1 AND from_state = 'deposit_paid' AND to_state = 'forfeited'`, dep.ID); n != 1 {
		t.Fatalf("%d forfeit transitions, want 1", n)
	}
	// The returned units are not sold again once the deposit window is over.
	if _, _, err := w.orders.SubmitDeposit(ctx, postgres.PresaleBuy{UserID: "u3", IdempotencyKey: "d3", PresaleID: p.ID, Quantity: 1}); err == nil {
		t.Fatal("a deposit was taken after the deposit window")
	}
}

func (w *world) entry(t *testing.T, dep order.Order) commerce.PresaleEntry {
	t.Helper()
	e, err := w.orders.PresaleEntry(context.Background(), dep.UserID, dep.ID)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// waitFor polls cond until it holds, failing after 15 s (a loop that never
// gets there, not a speed target).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
