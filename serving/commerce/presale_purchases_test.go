package commerce_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// A buyer lists their presale purchases — only theirs — with the deposit
// and balance state, the amounts, the balance window and what is still to
// pay, as the purchase moves from deposit to balance.
func TestListPresalePurchases(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	c := r.client
	now := time.Now().Truncate(time.Microsecond) // PostgreSQL keeps microseconds
	for _, id := range []string{"ps1", "ps2"} {
		ps := &tidev1.Presale{Id: id, SkuId: "p1-a", PriceFen: 10000, DepositFen: 1000, DeductionFen: 1500, Allotment: 5, PerUserLimit: 2,
			DepositStartsAt: rfc(now.Add(-time.Hour)), DepositEndsAt: rfc(now.Add(time.Hour)), BalanceStartsAt: rfc(now.Add(time.Hour)), BalanceEndsAt: rfc(now.Add(3 * time.Hour))}
		if _, err := c.CreateActivity(ctx, merchant("m1", &tidev1.CreateActivityRequest{Activity: &tidev1.Activity{Kind: &tidev1.Activity_Presale{Presale: ps}}})); err != nil {
			t.Fatal(err)
		}
	}
	deposit := func(u, ps, key string, qty int64) string {
		t.Helper()
		sub, err := c.Submit(ctx, user(u, &tidev1.SubmitRequest{Items: []*tidev1.LineItem{{SkuId: "p1-a", Quantity: qty}}, PresaleId: ps, IdempotencyKey: key}))
		if err != nil {
			t.Fatalf("deposit %s of %s: %v", key, u, err)
		}
		return sub.Msg.GetOrder().GetId()
	}
	paid := deposit("u1", "ps1", "d1", 2)
	payByWeChat(t, r, "u1", paid)
	unpaid := deposit("u1", "ps2", "d2", 1)
	other := deposit("u2", "ps1", "d1", 1)

	list := func(u string, req *tidev1.ListPresalePurchasesRequest) []*tidev1.PresalePurchase {
		t.Helper()
		res, err := c.ListPresalePurchases(ctx, user(u, req))
		if err != nil {
			t.Fatalf("list of %s: %v", u, err)
		}
		return res.Msg.GetPurchases()
	}
	got := list("u1", &tidev1.ListPresalePurchasesRequest{})
	if len(got) != 2 || got[0].GetEntry().GetDepositOrderId() != unpaid || got[1].GetEntry().GetDepositOrderId() != paid {
		t.Fatalf("u1's purchases: %v, want %s then %s", got, unpaid, paid)
	}
	// Not paid yet: the deposit and the balance (1 unit: 10000 − 1500).
	if u := got[0]; u.GetEntry().GetState() != "deposit_unpaid" || u.GetDepositPaid() || u.GetDepositFen() != 1000 || u.GetBalanceFen() != 8500 || u.GetDueFen() != 9500 {
		t.Errorf("unpaid deposit: %v", u)
	}
	// Deposit paid (2 units): the balance 2×10000 − 2×1500 is due in the balance window.
	p := got[1]
	if p.GetEntry().GetState() != "deposit_paid" || !p.GetDepositPaid() || p.GetDepositFen() != 2000 || p.GetBalanceFen() != 17000 || p.GetBalancePaid() || p.GetDueFen() != 17000 {
		t.Errorf("paid deposit: %v", p)
	}
	if p.GetPresale().GetBalanceStartsAt() != rfc(now.Add(time.Hour)) || p.GetPresale().GetBalanceEndsAt() != rfc(now.Add(3*time.Hour)) || p.GetCreatedAt() == "" {
		t.Errorf("balance window or created_at: %v", p)
	}
	for _, pp := range list("u2", &tidev1.ListPresalePurchasesRequest{}) {
		if pp.GetEntry().GetDepositOrderId() != other {
			t.Errorf("u2 sees %s", pp.GetEntry().GetDepositOrderId())
		}
	}
	if n := len(list("u2", &tidev1.ListPresalePurchasesRequest{})); n != 1 {
		t.Errorf("u2 has %d purchases, want 1", n)
	}
	_, err := c.GetPresaleEntry(ctx, user("u2", &tidev1.GetPresaleEntryRequest{DepositOrderId: paid}))
	code(t, err, connect.CodeNotFound, "another user's purchase")
	_, err = c.ListPresalePurchases(ctx, merchant("m1", &tidev1.ListPresalePurchasesRequest{}))
	code(t, err, connect.CodePermissionDenied, "a merchant lists presale purchases")
	_, err = c.ListPresalePurchases(ctx, user("u1", &tidev1.ListPresalePurchasesRequest{PageSize: 101}))
	code(t, err, connect.CodeInvalidArgument, "page_size 101")

	// Pages: one at a time, the next from the previous one's created_at.
	first := list("u1", &tidev1.ListPresalePurchasesRequest{PageSize: 1})
	second := list("u1", &tidev1.ListPresalePurchasesRequest{PageSize: 1, Before: first[0].GetCreatedAt()})
	if len(first) != 1 || len(second) != 1 || first[0].GetEntry().GetDepositOrderId() != unpaid || second[0].GetEntry().GetDepositOrderId() != paid {
		t.Fatalf("pages: %v / %v", first, second)
	}

	// The balance is paid: nothing is left to pay.
	if _, err := r.store.Pool().Exec(ctx, `UPDATE presales SET deposit_starts_at = now() - interval '2 hours', deposit_ends_at = now() - interval '1 hour',
		balance_starts_at = now() - interval '1 hour' WHERE id = 'ps1'`); err != nil {
		t.Fatal(err)
	}
	bal, err := c.SubmitBalance(ctx, user("u1", &tidev1.SubmitBalanceRequest{DepositOrderId: paid, IdempotencyKey: "b1"}))
	if err != nil || bal.Msg.GetOrder().GetPayFen() != 17000 {
		t.Fatalf("balance: %v %v", bal, err)
	}
	one, err := c.GetPresaleEntry(ctx, user("u1", &tidev1.GetPresaleEntryRequest{DepositOrderId: paid}))
	if pp := one.Msg.GetPurchase(); err != nil || pp.GetBalancePaid() || pp.GetDueFen() != 17000 || pp.GetEntry().GetBalanceOrderId() != bal.Msg.GetOrder().GetId() {
		t.Fatalf("balance order unpaid: %v %v", one, err)
	}
	payByWeChat(t, r, "u1", bal.Msg.GetOrder().GetId())
	one, err = c.GetPresaleEntry(ctx, user("u1", &tidev1.GetPresaleEntryRequest{DepositOrderId: paid}))
	if pp := one.Msg.GetPurchase(); err != nil || pp.GetEntry().GetState() != "completed" || !pp.GetBalancePaid() || pp.GetDueFen() != 0 {
		t.Fatalf("completed purchase: %v %v", one, err)
	}
}
