package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/postgres"
)

// TestFlashSubmitsUnderConcurrency: 20 users each submit two units of a
// 7-unit sale with a limit of 3, three times at once — twice with the same
// key (two taps), once with another key (over the limit) — through two
// order stores on one database, as two replicas of `tide serve` would, in
// batches and one by one. Exactly three orders get two units each, a
// one-unit order then gets the last unit, every repeat returns its order,
// and no user passes the limit.
func TestFlashSubmitsUnderConcurrency(t *testing.T) {
	for _, batched := range []bool{true, false} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			s, _ := orderFixture(t)
			ctx := context.Background()
			if err := s.CreateFlashSale(ctx, flashSale("fs", 7, 3)); err != nil {
				t.Fatal(err)
			}
			replicas := []*postgres.Orders{
				s.Orders(s.NewFlashSeller(), outboxAdd, postgres.WithFlashBatches(batched)),
				s.Orders(s.NewFlashSeller(), outboxAdd, postgres.WithFlashBatches(batched)),
			}
			flash := func(user, key string, qty int64) order.Order {
				return order.Order{UserID: user, MerchantID: "m00", IdempotencyKey: key, FlashSaleID: "fs", TotalFen: qty, PayFen: qty,
					Lines: []order.Line{{ProductID: "p00000", SKUID: "a", UnitFen: 1, Quantity: qty, TotalFen: qty, PayFen: qty}}}
			}
			var (
				mu      sync.Mutex
				wg      sync.WaitGroup
				created = map[string]string{} // key → order id
				repeats = map[string][]string{}
				refused = map[string]int{}
				start   = make(chan struct{})
			)
			for u := range 20 {
				for i, key := range []string{"tap", "tap", "other"} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						user := fmt.Sprintf("u%02d", u)
						o, isNew, err := replicas[(u+i)%2].Submit(ctx, flash(user, key, 2))
						mu.Lock()
						defer mu.Unlock()
						switch {
						case errors.Is(err, commerce.ErrSoldOut):
							refused["sold out"]++
						case errors.Is(err, commerce.ErrLimitReached):
							refused["limit"]++
						case err != nil:
							t.Errorf("%s %s: %v", user, key, err)
						case isNew:
							created[user+"/"+key] = o.ID
						default:
							repeats[user+"/"+key] = append(repeats[user+"/"+key], o.ID)
						}
					}()
				}
			}
			close(start)
			wg.Wait()
			if len(created) != 3 {
				t.Fatalf("%d orders of two units from 7 units, want 3 (refused: %v)", len(created), refused)
			}
			for k, ids := range repeats {
				for _, id := range ids {
					if created[k] != id {
						t.Errorf("a repeat of %s returned %s, not the order its key made (%q)", k, id, created[k])
					}
				}
			}
			if _, _, err := replicas[0].Submit(ctx, flash("u99", "last", 2)); !errors.Is(err, commerce.ErrSoldOut) {
				t.Fatalf("two units of the last one: %v", err)
			}
			if _, isNew, err := replicas[1].Submit(ctx, flash("u99", "last1", 1)); err != nil || !isNew {
				t.Fatalf("the last unit: %v %v", isNew, err)
			}
			if n := count(t, s, `SELECT remaining FROM flash_sales WHERE id = 'fs'`); n != 0 {
				t.Errorf("remaining %d, want 0", n)
			}
			if n := count(t, s, `SELECT coalesce(sum(quantity), 0) FROM stock_reservations WHERE flash_sale_id = 'fs' AND state = 'held'`); n != 7 {
				t.Errorf("%d units held, want 7", n)
			}
			if n := count(t, s, `SELECT count(*) FROM orders WHERE flash_sale_id = 'fs'`); n != 4 || events(t, s, "order_created") != 4 {
				t.Errorf("%d orders and %d order_created events, want 4 and 4", n, events(t, s, "order_created"))
			}
			if n := count(t, s, `SELECT count(*) FROM (SELECT user_id FROM stock_reservations WHERE flash_sale_id = 'fs' GROUP BY user_id HAVING sum(quantity) > 3) x`); n != 0 {
				t.Errorf("%d users past the limit", n)
			}
			if n := count(t, s, `SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_timers t WHERE t.order_id = o.id)
				OR (SELECT count(*) FROM order_transitions t WHERE t.order_id = o.id) != 3
				OR (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id) != 1`); n != 0 {
				t.Errorf("%d orders without their timer, three transitions and one line", n)
			}
		})
	}
}
