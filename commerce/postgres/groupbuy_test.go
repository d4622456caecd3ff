package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/postgres"
)

func TestGroupBuy(t *testing.T) {
	s, orders := orderFixture(t)
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateGroupBuy(ctx, commerce.GroupBuy{ID: "gb", MerchantID: "m00", SKUID: "a", PriceFen: 60, GroupSize: 3, Window: time.Hour, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroupBuy(ctx, commerce.GroupBuy{ID: "short", MerchantID: "m00", SKUID: "a", PriceFen: 60, GroupSize: 2, Window: time.Second, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	member := func(user string) order.Order {
		return order.Order{UserID: user, MerchantID: "m00", IdempotencyKey: "k", TotalFen: 60, PayFen: 60,
			Lines: []order.Line{{ProductID: "p00000", SKUID: "a", UnitFen: 60, Quantity: 1, TotalFen: 60, PayFen: 60}}}
	}
	pay := func(o order.Order) {
		t.Helper()
		a, _, err := orders.OpenAttempt(ctx, o.UserID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := orders.MarkPaid(ctx, postgres.Payment{OutTradeNo: a.OutTradeNo, AmountFen: a.AmountFen}); err != nil {
			t.Fatal(err)
		}
	}
	lead, g, created, err := orders.SubmitGroup(ctx, member("leader"), "gb", "")
	if err != nil || !created || g == "" {
		t.Fatalf("open: %v %q %v", created, g, err)
	}
	m1, _, _, err := orders.SubmitGroup(ctx, member("m1"), "gb", g)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := orders.SubmitGroup(ctx, member("m1"), "gb", g); err != nil {
		t.Fatalf("the same submit again: %v", err) // same key: same order
	}
	m2, _, _, err := orders.SubmitGroup(ctx, member("m2"), "gb", g)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := orders.SubmitGroup(ctx, member("m3"), "gb", g); !errors.Is(err, commerce.ErrGroupFull) {
		t.Fatalf("a fourth member: %v", err)
	}
	wrong := member("m4")
	wrong.Lines[0].UnitFen, wrong.TotalFen, wrong.PayFen, wrong.Lines[0].TotalFen, wrong.Lines[0].PayFen = 1, 1, 1, 1, 1
	var fe *commerce.FieldError
	if _, _, _, err := orders.SubmitGroup(ctx, wrong, "gb", ""); !errors.As(err, &fe) {
		t.Fatalf("a group order at the wrong price: %v", err)
	}
	pay(lead)
	pay(m1)
	if st, paid, _ := orders.GroupState(ctx, g); st != "open" || paid != 2 {
		t.Fatalf("2 of 3 paid: %s %d", st, paid)
	}
	if err := orders.Ship(ctx, "m00", lead.ID, commerce.Shipment{ExpressCompany: "YTO", TrackingNo: "YT1"}); !errors.Is(err, postgres.ErrCannotShip) {
		t.Fatalf("shipping before the group filled: %v", err)
	}
	pay(m2)
	if st, paid, _ := orders.GroupState(ctx, g); st != "succeeded" || paid != 3 {
		t.Fatalf("3 of 3 paid: %s %d", st, paid)
	}
	if err := orders.Ship(ctx, "m00", lead.ID, commerce.Shipment{ExpressCompany: "YTO", TrackingNo: "YT1"}); err != nil {
		t.Fatalf("ship after success: %v", err)
	}

	// A group that does not fill: its paid leader is refunded, and a
	// member's payment after the failure is refunded too.
	l2, g2, _, err := orders.SubmitGroup(ctx, member("l2"), "short", "")
	if err != nil {
		t.Fatal(err)
	}
	late, _, _, err := orders.SubmitGroup(ctx, member("late"), "short", g2)
	if err != nil {
		t.Fatal(err)
	}
	// (size 2, but only the leader pays before the window ends)
	pay(l2)
	if st, _, _ := orders.GroupState(ctx, g2); st != "open" {
		t.Fatalf("one of two paid: %s", st)
	}
	time.Sleep(1100 * time.Millisecond)
	if n, err := orders.ExpireGroups(ctx, 10); err != nil || n != 1 {
		t.Fatalf("expire groups: %d %v", n, err)
	}
	if _, _, _, err := orders.SubmitGroup(ctx, member("x"), "short", g2); !errors.Is(err, commerce.ErrGroupClosed) {
		t.Fatalf("joining a failed group: %v", err)
	}
	pay(late)
	for _, id := range []string{l2.ID, late.ID} {
		o, _ := orders.Order(ctx, id)
		if o.Pay != order.Paid || o.Refund != order.Refunding {
			t.Fatalf("member %s of a failed group: %s / %s", id, o.Pay, o.Refund)
		}
	}
	if rs, _ := orders.PendingRefunds(ctx, 10); len(rs) != 2 {
		t.Fatalf("%d refunds queued, want 2", len(rs))
	}
}
