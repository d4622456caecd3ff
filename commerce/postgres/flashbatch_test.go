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

// TestFlashGuessRefused: a replica writes a batch at once when what it saw
// of the sale says the batch fits; what another replica did meanwhile
// makes PostgreSQL refuse that guess, and the submit is then checked and
// answered for what it is — sold out, over the limit, a repeat of the
// other replica's order — with nothing written twice or oversold. Units
// released after this replica saw the sale sold out are sold again.
func TestFlashGuessRefused(t *testing.T) {
	s, _ := orderFixture(t)
	ctx := context.Background()
	a := s.Orders(s.NewFlashSeller(), outboxAdd)
	b := s.Orders(s.NewFlashSeller(), outboxAdd)
	flash := func(sale, user, key string) order.Order {
		return order.Order{UserID: user, MerchantID: "m00", IdempotencyKey: key, FlashSaleID: sale, TotalFen: 1, PayFen: 1,
			Lines: []order.Line{{ProductID: "p00000", SKUID: "a", UnitFen: 1, Quantity: 1, TotalFen: 1, PayFen: 1}}}
	}
	// Keys are per sale: an order's id is its user's and its key's.
	submit := func(r *postgres.Orders, sale, user, key string) (order.Order, bool, error) {
		return r.Submit(ctx, flash(sale, user, sale+"-"+key))
	}
	for _, f := range []commerce.FlashSale{flashSale("gone", 3, 1), flashSale("limit", 5, 1), flashSale("back", 1, 1)} {
		f.PriceFen = 1
		if err := s.CreateFlashSale(ctx, f); err != nil {
			t.Fatal(err)
		}
	}

	// u1 buys through a, u2 and u3 through b.
	sell := func(sale string) {
		t.Helper()
		for i, r := range []*postgres.Orders{a, b, b} {
			if _, _, err := submit(r, sale, fmt.Sprintf("u%d", i+1), "k"); err != nil {
				t.Fatalf("sale %s, u%d: %v", sale, i+1, err)
			}
		}
	}

	// a sees 2 units left; b sells them.
	sell("gone")
	if _, _, err := submit(a, "gone", "u4", "k"); !errors.Is(err, commerce.ErrSoldOut) {
		t.Fatalf("a unit b sold, through a: %v, want sold out", err)
	}

	// b's buyer comes to a with another key; a buyer of b taps again on a.
	sell("limit")
	if _, _, err := submit(a, "limit", "u2", "other"); !errors.Is(err, commerce.ErrLimitReached) {
		t.Fatalf("a second unit of b's buyer, through a: %v, want the limit", err)
	}
	first, err := b.Order(ctx, order.ID("u3", "limit-k"))
	if err != nil {
		t.Fatal(err)
	}
	again, isNew, err := submit(a, "limit", "u3", "k")
	if err != nil || isNew || again.ID != first.ID {
		t.Fatalf("b's order's key again, through a: %s new=%v %v, want %s", again.ID, isNew, err, first.ID)
	}

	// a sells the last unit; its buyer cancels; a sells it again.
	sold, _, err := submit(a, "back", "u1", "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := submit(a, "back", "u2", "k"); !errors.Is(err, commerce.ErrSoldOut) {
		t.Fatalf("past the last unit: %v", err)
	}
	if err := a.Cancel(ctx, "u1", sold.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, isNew, err := submit(a, "back", "u2", "k2"); err != nil || !isNew {
		t.Fatalf("the released unit: new=%v %v", isNew, err)
	}

	for sale, want := range map[string]int{"gone": 3, "limit": 3, "back": 1} {
		held := count(t, s, `SELECT coalesce(sum(quantity), 0) FROM stock_reservations WHERE flash_sale_id = $1 AND state = 'held'`, sale)
		orders := count(t, s, `SELECT count(*) FROM orders WHERE flash_sale_id = $1 AND pay_state = 'unpaid'`, sale)
		left := count(t, s, `SELECT remaining FROM flash_sales WHERE id = $1`, sale)
		allot := map[string]int{"gone": 3, "limit": 5, "back": 1}[sale]
		if held != want || orders != want || left != allot-want {
			t.Errorf("sale %s: %d units held by %d unpaid orders, %d left; want %d, %d, %d", sale, held, orders, left, want, want, allot-want)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM (SELECT user_id FROM flash_sale_buyers WHERE quantity > per_user_limit) x`); n != 0 {
		t.Errorf("%d buyers past the limit", n)
	}
	if n := events(t, s, "order_created"); n != 8 {
		t.Errorf("%d order_created events, want 8 (one per order written)", n)
	}
}
