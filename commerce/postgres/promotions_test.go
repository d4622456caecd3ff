package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/pricing"
)

func TestPromotions(t *testing.T) {
	s, orders := orderFixture(t)
	ctx := context.Background()
	tiered := func(id string, src pricing.Source, off int64) pricing.Promotion {
		return pricing.Promotion{ID: id, Source: src, Kind: pricing.Tiered, Tiers: []pricing.Tier{{ThresholdFen: 0, OffFen: off}}, Stackable: true}
	}
	for _, c := range []struct {
		room string
		p    pricing.Promotion
	}{
		{"room1", tiered("room-old", pricing.Room, 5)},
		{"room1", tiered("room-new", pricing.Room, 10)},
		{"room2", tiered("room-other", pricing.Room, 99)},
		{"", tiered("shop", pricing.Shop, 20)},
		{"", pricing.Promotion{ID: "c8", Source: pricing.Coupon, Kind: pricing.Percent, PayBasisPoints: 8000, PerUserLimit: 1, Stackable: true}},
		{"", pricing.Promotion{ID: "gone", Source: pricing.Shop, Kind: pricing.Tiered, Tiers: []pricing.Tier{{ThresholdFen: 0, OffFen: 1}}, ValidUntil: time.Now().Add(-time.Hour), Stackable: true}},
	} {
		if err := s.PutPromotion(ctx, "m00", c.room, c.p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // distinct created_at: newest wins
	}
	var fe *commerce.FieldError
	if err := s.PutPromotion(ctx, "m00", "", tiered("roomless", pricing.Room, 1)); !errors.As(err, &fe) {
		t.Fatalf("a room promotion without a room: %v", err)
	}
	var pfe *pricing.FieldError
	if err := s.PutPromotion(ctx, "m00", "", pricing.Promotion{ID: "bad", Source: pricing.Coupon, Kind: pricing.Percent, PayBasisPoints: 10000}); !errors.As(err, &pfe) {
		t.Fatalf("an invalid promotion: %v", err)
	}
	if _, _, err := s.Promotions(ctx, "u1", "m00", "room1", "c8"); !errors.As(err, &fe) {
		t.Fatalf("a coupon the user does not hold: %v", err)
	}
	if err := s.GrantCoupon(ctx, "c8", "u1"); err != nil {
		t.Fatal(err)
	}
	if err := s.GrantCoupon(ctx, "shop", "u1"); !errors.Is(err, postgres.ErrNotFound) {
		t.Fatalf("granting a non-coupon: %v", err)
	}
	ps, usage, err := s.Promotions(ctx, "u1", "m00", "room1", "c8")
	if err != nil || len(ps) != 3 || ps[0].ID != "room-new" || ps[1].ID != "shop" || ps[2].ID != "c8" || ps[2].PayBasisPoints != 8000 || usage["c8"] != 0 {
		t.Fatalf("promotions %+v usage %v err %v", ps, usage, err)
	}
	q, err := pricing.Price(pricing.Request{Lines: []pricing.Line{{SKUID: "a", UnitFen: 100, Quantity: 5}}, Promotions: ps, Usage: usage, At: time.Now()})
	if err != nil || q.PayFen != 376 { // (500-10-20) × 0.8
		t.Fatalf("priced %d (%v)", q.PayFen, err)
	}

	// Two concurrent orders with the limit-1 coupon: one gets it.
	withCoupon := func(key string) order.Order {
		o := newOrder("u1", key, 1, 0)
		o.Promotions = []string{"c8"}
		return o
	}
	var (
		wg       sync.WaitGroup
		ok, used atomic.Int64
		ids      = make(chan string, 4)
	)
	for _, k := range []string{"k1", "k2", "k3", "k4"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, _, err := orders.Submit(ctx, withCoupon(k))
			switch {
			case err == nil:
				ok.Add(1)
				ids <- o.ID
			case errors.Is(err, postgres.ErrLimitUsed):
				used.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(ids)
	if ok.Load() != 1 || used.Load() != 3 {
		t.Fatalf("4 concurrent orders with a 1-use coupon: %d took it, %d refused", ok.Load(), used.Load())
	}
	if _, usage, _ := s.Promotions(ctx, "u1", "m00", "", "c8"); usage["c8"] != 1 {
		t.Fatalf("usage after one order: %v", usage)
	}
	// Cancelling gives the use back.
	if err := orders.Cancel(ctx, "u1", <-ids, &closer{}); err != nil {
		t.Fatal(err)
	}
	if _, usage, _ := s.Promotions(ctx, "u1", "m00", "", "c8"); usage["c8"] != 0 {
		t.Fatalf("usage after cancel: %v", usage)
	}
	if _, _, err := orders.Submit(ctx, withCoupon("k5")); err != nil {
		t.Fatalf("coupon after a cancel: %v", err)
	}
}
