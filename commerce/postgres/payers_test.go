package postgres_test

import (
	"context"
	"testing"
)

// PayerOpenID is the openid of the user's latest attempt that has one;
// none for a user who never prepaid, nor for another user.
func TestPayerOpenID(t *testing.T) {
	_, orders := orderFixture(t)
	ctx := context.Background()
	if _, ok, err := orders.PayerOpenID(ctx, "u1"); err != nil || ok {
		t.Fatalf("a user with no orders: ok=%v %v", ok, err)
	}
	for i, openID := range []string{"o-old", "", "o-new"} {
		o, _, err := orders.Submit(ctx, newOrder("u1", "k"+string(rune('a'+i)), 1, 0))
		if err != nil {
			t.Fatal(err)
		}
		a, _, err := orders.OpenAttempt(ctx, "u1", o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if openID != "" {
			if err := orders.SetPayer(ctx, a.OutTradeNo, openID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, ok, err := orders.PayerOpenID(ctx, "u1"); err != nil || !ok || got != "o-new" {
		t.Errorf("u1's payer: %q ok=%v %v, want o-new", got, ok, err)
	}
	if _, ok, err := orders.PayerOpenID(ctx, "u2"); err != nil || ok {
		t.Errorf("another user: ok=%v %v, want none", ok, err)
	}
}
