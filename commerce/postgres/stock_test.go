package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
)

// stockFixture imports product p00000 of merchant m00 with SKUs a (stock)
// and b (stock).
func stockFixture(t testing.TB, stockA, stockB int64) *postgres.Store {
	t.Helper()
	s, _ := pgtest.Store(t)
	importInto(t, s, catalogFile(1, func(int) string { return "秒杀 T恤" }))
	err := s.PutSKUs(context.Background(), "p00000", []commerce.SKU{
		{ID: "a", Spec: map[string]string{"颜色": "黑"}, PriceFen: 100, Stock: stockA},
		{ID: "b", Spec: map[string]string{"颜色": "白"}, PriceFen: 200, Stock: stockB},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func skuStock(t testing.TB, s *postgres.Store, id string) int64 {
	t.Helper()
	var n int64
	if err := s.Pool().QueryRow(context.Background(), `SELECT stock FROM skus WHERE id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReserveReleaseSell(t *testing.T) {
	s := stockFixture(t, 5, 1)
	ctx := context.Background()
	hold := func(order, sku string, q int64) commerce.Hold {
		return commerce.Hold{OrderID: order, UserID: "u1", SKUID: sku, Quantity: q}
	}
	if err := s.Reserve(ctx, hold("o1", "a", 3), hold("o1", "b", 1)); err != nil {
		t.Fatal(err)
	}
	if a, b := skuStock(t, s, "a"), skuStock(t, s, "b"); a != 2 || b != 0 {
		t.Fatalf("stock after reserve a=%d b=%d, want 2 0", a, b)
	}
	// All or nothing: a has enough, b has none; a must not move.
	if err := s.Reserve(ctx, hold("o2", "a", 1), hold("o2", "b", 1)); !errors.Is(err, commerce.ErrOutOfStock) {
		t.Fatalf("reserve without stock: %v, want ErrOutOfStock", err)
	}
	if a := skuStock(t, s, "a"); a != 2 {
		t.Fatalf("failed reserve moved a to %d", a)
	}
	if err := s.Reserve(ctx, hold("o1", "a", 1)); !errors.Is(err, commerce.ErrAlreadyHeld) {
		t.Fatalf("second hold of o1/a: %v, want ErrAlreadyHeld", err)
	}
	hs, err := s.Release(ctx, "o1")
	if err != nil || len(hs) != 2 {
		t.Fatalf("release: %v %v", hs, err)
	}
	if hs, err := s.Release(ctx, "o1"); err != nil || len(hs) != 0 {
		t.Fatalf("second release gave back %v (%v)", hs, err)
	}
	if a, b := skuStock(t, s, "a"), skuStock(t, s, "b"); a != 5 || b != 1 {
		t.Fatalf("stock after release a=%d b=%d, want 5 1", a, b)
	}

	if err := s.Reserve(ctx, hold("o3", "a", 2)); err != nil {
		t.Fatal(err)
	}
	var sold int64
	err = pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) (err error) {
		sold, err = s.SellTx(ctx, tx, "o3")
		return err
	})
	if err != nil || sold != 1 {
		t.Fatalf("sell: %d %v", sold, err)
	}
	if hs, _ := s.Release(ctx, "o3"); len(hs) != 0 {
		t.Fatalf("released sold units %v", hs)
	}
	if a := skuStock(t, s, "a"); a != 3 {
		t.Fatalf("stock after sell a=%d, want 3", a)
	}
	states, err := s.Holds(ctx, "o3")
	if err != nil || states[hold("o3", "a", 2)] != commerce.Sold {
		t.Fatalf("holds of o3: %v %v", states, err)
	}
}

func flashSale(id string, allotment, limit int64) commerce.FlashSale {
	now := time.Now()
	return commerce.FlashSale{ID: id, MerchantID: "m00", SKUID: "a", PriceFen: 1, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour), Allotment: allotment, PerUserLimit: limit}
}

func TestFlashSaleAllotmentIsApart(t *testing.T) {
	s := stockFixture(t, 100, 0)
	ctx := context.Background()
	if err := s.CreateFlashSale(ctx, flashSale("fs", 101, 1)); !errors.Is(err, commerce.ErrOutOfStock) {
		t.Fatalf("allotment above stock: %v", err)
	}
	other := flashSale("fs", 10, 1)
	other.MerchantID = "m01"
	if err := s.CreateFlashSale(ctx, other); !errors.Is(err, commerce.ErrOutOfStock) {
		t.Fatalf("another merchant's sku: %v", err)
	}
	if err := s.CreateFlashSale(ctx, flashSale("fs", 30, 1)); err != nil {
		t.Fatal(err)
	}
	if a := skuStock(t, s, "a"); a != 70 {
		t.Fatalf("sku stock after a 30-unit sale = %d, want 70", a)
	}
	f, err := s.FlashSale(ctx, "fs")
	if err != nil || f.Remaining != 30 {
		t.Fatalf("sale: %+v %v", f, err)
	}
}

// TestFlashSaleNeverOversells: 300 buyers, 3 attempts each, on a 50-unit
// allotment with a limit of 2 per user.
func TestFlashSaleNeverOversells(t *testing.T) {
	s := stockFixture(t, 50, 0)
	ctx := context.Background()
	if err := s.CreateFlashSale(ctx, flashSale("fs", 50, 2)); err != nil {
		t.Fatal(err)
	}
	seller := s.NewFlashSeller(postgres.WithSoldOutRecheck(time.Hour))
	var (
		wg                   sync.WaitGroup
		ok, soldOut, limited atomic.Int64
		unexpected           = make(chan error, 1000)
		users, triesPerUser  = 300, 3
	)
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range triesPerUser {
				h := commerce.Hold{OrderID: fmt.Sprintf("o-%d-%d", u%20, i*1000+u), UserID: fmt.Sprintf("u%d", u%20), FlashSaleID: "fs", Quantity: 1}
				_, err := seller.Reserve(ctx, h, nil)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, commerce.ErrSoldOut):
					soldOut.Add(1)
				case errors.Is(err, commerce.ErrLimitReached):
					limited.Add(1)
				default:
					unexpected <- err
				}
			}
		}()
	}
	wg.Wait()
	close(unexpected)
	for err := range unexpected {
		t.Error(err)
	}
	// 20 distinct users × limit 2 = 40 < 50: the limit binds first.
	if ok.Load() != 40 {
		t.Fatalf("%d holds, want 40 (20 users × 2)", ok.Load())
	}
	if n := count(t, s, `SELECT count(*) FROM flash_sale_buyers WHERE quantity > 2`); n != 0 {
		t.Fatalf("%d users over the limit", n)
	}
	f, _ := s.FlashSale(ctx, "fs")
	held := count(t, s, `SELECT coalesce(sum(quantity), 0) FROM stock_reservations WHERE flash_sale_id = 'fs' AND state = 'held'`)
	if f.Remaining != 10 || int64(held)+f.Remaining != 50 {
		t.Fatalf("remaining %d, held %d: the allotment does not add up", f.Remaining, held)
	}

	// Now many distinct users drain the rest.
	ok.Store(0)
	for u := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := commerce.Hold{OrderID: fmt.Sprintf("late-%d", u), UserID: fmt.Sprintf("late%d", u), FlashSaleID: "fs", Quantity: 1}
			if _, err := seller.Reserve(ctx, h, nil); err == nil {
				ok.Add(1)
			} else if !errors.Is(err, commerce.ErrSoldOut) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 10 {
		t.Fatalf("%d late holds, want the 10 left", ok.Load())
	}
	f, _ = s.FlashSale(ctx, "fs")
	if f.Remaining != 0 {
		t.Fatalf("remaining %d after selling out", f.Remaining)
	}

	// The sold-out flag answers without the database: even a hold whose
	// order id collides is refused as sold out, not as already held.
	if _, err := seller.Reserve(ctx, commerce.Hold{OrderID: "o-0-0", UserID: "x", FlashSaleID: "fs", Quantity: 1}, nil); !errors.Is(err, commerce.ErrSoldOut) {
		t.Fatalf("after sell-out: %v, want ErrSoldOut", err)
	}

	// A released order gives its unit back to the sale and to the buyer.
	var order, user string
	if err := s.Pool().QueryRow(ctx, `SELECT order_id, user_id FROM stock_reservations WHERE order_id LIKE 'late-%' LIMIT 1`).Scan(&order, &user); err != nil {
		t.Fatal(err)
	}
	hs, err := s.Release(ctx, order)
	if err != nil || len(hs) != 1 {
		t.Fatalf("release: %v %v", hs, err)
	}
	seller.Released("fs")
	if _, err := seller.Reserve(ctx, commerce.Hold{OrderID: "again", UserID: user, FlashSaleID: "fs", Quantity: 1}, nil); err != nil {
		t.Fatalf("hold after a release: %v", err)
	}
}

func TestFlashSaleWindowAndRollback(t *testing.T) {
	s := stockFixture(t, 10, 0)
	ctx := context.Background()
	if err := s.CreateFlashSale(ctx, flashSale("fs", 5, 3)); err != nil {
		t.Fatal(err)
	}
	early := s.NewFlashSeller(postgres.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	if _, err := early.Reserve(ctx, commerce.Hold{OrderID: "o", UserID: "u", FlashSaleID: "fs", Quantity: 1}, nil); !errors.Is(err, commerce.ErrNotStarted) {
		t.Fatalf("before the start: %v", err)
	}
	late := s.NewFlashSeller(postgres.WithClock(func() time.Time { return time.Now().Add(2 * time.Hour) }))
	if _, err := late.Reserve(ctx, commerce.Hold{OrderID: "o", UserID: "u", FlashSaleID: "fs", Quantity: 1}, nil); !errors.Is(err, commerce.ErrEnded) {
		t.Fatalf("after the end: %v", err)
	}
	seller := s.NewFlashSeller()
	if _, err := seller.Reserve(ctx, commerce.Hold{OrderID: "o", UserID: "u", FlashSaleID: "fs", Quantity: 4}, nil); !errors.Is(err, commerce.ErrLimitReached) {
		t.Fatalf("over the limit in one go: %v", err)
	}
	// A failing statement of the caller's rolls the whole hold back.
	_, err := seller.Reserve(ctx, commerce.Hold{OrderID: "o", UserID: "u", FlashSaleID: "fs", Quantity: 2}, func(b *pgx.Batch) {
		b.Queue(`INSERT INTO no_such_table VALUES (1)`)
	})
	if err == nil {
		t.Fatal("a failing queued statement did not fail the hold")
	}
	f, _ := s.FlashSale(ctx, "fs")
	if f.Remaining != 5 || count(t, s, `SELECT count(*) FROM flash_sale_buyers`) != 0 || count(t, s, `SELECT count(*) FROM stock_reservations`) != 0 {
		t.Fatalf("a failed hold left rows behind (remaining %d)", f.Remaining)
	}
	left, err := seller.Reserve(ctx, commerce.Hold{OrderID: "o", UserID: "u", FlashSaleID: "fs", Quantity: 2}, nil)
	if err != nil || left != 3 {
		t.Fatalf("hold: %d %v", left, err)
	}
	if _, err := seller.Reserve(ctx, commerce.Hold{OrderID: "o", UserID: "u", FlashSaleID: "fs", Quantity: 1}, nil); !errors.Is(err, commerce.ErrAlreadyHeld) {
		t.Fatalf("same order again: %v", err)
	}
	if _, err := seller.Reserve(ctx, commerce.Hold{OrderID: "o2", UserID: "u", FlashSaleID: "fs", Quantity: 2}, nil); !errors.Is(err, commerce.ErrLimitReached) {
		t.Fatalf("2 more for a user holding 2 of 3: %v", err)
	}
}

func TestImportWritesSKUs(t *testing.T) {
	s, _ := pgtest.Store(t)
	ctx := context.Background()
	importInto(t, s, `{"id":"p1","merchant_id":"m1","title":"T恤","price_fen":9900,"skus":[{"id":"p1-m","spec":{"尺码":"M"},"price_fen":9900,"stock":12},{"id":"p1-l","spec":{"尺码":"L"},"price_fen":10900,"stock":3}]}`+"\n")
	skus, err := s.SKUs(ctx, "p1")
	if err != nil || len(skus) != 2 || skus[0].ID != "p1-l" || skus[0].Stock != 3 || skus[1].Spec["尺码"] != "M" {
		t.Fatalf("skus after import: %+v %v", skus, err)
	}
	// The same product again with one SKU: the other goes; the product is
	// unchanged (SKUs are not in its content hash) but the stock is written.
	sum := importInto(t, s, `{"id":"p1","merchant_id":"m1","title":"T恤","price_fen":9900,"skus":[{"id":"p1-m","spec":{"尺码":"M"},"price_fen":9900,"stock":7}]}`+"\n")
	if sum.Unchanged != 1 {
		t.Fatalf("summary %+v, want the product unchanged", sum)
	}
	skus, _ = s.SKUs(ctx, "p1")
	if len(skus) != 1 || skus[0].Stock != 7 {
		t.Fatalf("skus after re-import: %+v", skus)
	}
	// Without "skus" the stored SKUs stay.
	importInto(t, s, `{"id":"p1","merchant_id":"m1","title":"T恤 新款","price_fen":9900}`+"\n")
	if skus, _ = s.SKUs(ctx, "p1"); len(skus) != 1 {
		t.Fatalf("an import without skus dropped them: %+v", skus)
	}
	// Another merchant cannot take over a SKU id.
	r, err := commerce.NewReader(strings.NewReader(`{"id":"q1","merchant_id":"m2","title":"别人的","price_fen":1,"skus":[{"id":"p1-m","price_fen":1,"stock":1}]}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := commerce.Import(ctx, r, s); err == nil {
		t.Fatal("an import took another product's SKU id")
	}
	if skus, _ = s.SKUs(ctx, "p1"); len(skus) != 1 || skus[0].Stock != 7 {
		t.Fatalf("p1's SKU after the refused import: %+v", skus)
	}
}

// TestFlashSaleCutMidStorm cancels buyers mid-flight (connections torn down
// inside their pipelined transactions, as when tide serve dies): every unit
// is either held by exactly one reservation or still in the allotment, and
// every buyer's count matches their holds.
func TestFlashSaleCutMidStorm(t *testing.T) {
	const units = 100000
	s := stockFixture(t, units, 0)
	if err := s.CreateFlashSale(context.Background(), flashSale("fs", units, 1)); err != nil {
		t.Fatal(err)
	}
	seller := s.NewFlashSeller()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				u := w*1_000_000 + i
				_, _ = seller.Reserve(ctx, commerce.Hold{OrderID: fmt.Sprint("o", u), UserID: fmt.Sprint("u", u), FlashSaleID: "fs", Quantity: 1}, nil)
			}
		}()
	}
	// Cut once a few hundred holds have committed: mid-storm.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if count(t, s, `SELECT count(*) FROM stock_reservations`) >= 300 {
			break
		}
	}
	cancel()
	wg.Wait()
	// Backends whose client went away may still be finishing a commit: let
	// them, then read the allotment and the holds in one snapshot.
	time.Sleep(500 * time.Millisecond)
	var held, remaining int64
	if err := s.Pool().QueryRow(context.Background(), `SELECT (SELECT coalesce(sum(quantity), 0) FROM stock_reservations WHERE flash_sale_id = 'fs'),
		(SELECT remaining FROM flash_sales WHERE id = 'fs')`).Scan(&held, &remaining); err != nil {
		t.Fatal(err)
	}
	if held+remaining != units {
		t.Fatalf("held %d + remaining %d != %d after the cut", held, remaining, units)
	}
	if n := count(t, s, `SELECT count(*) FROM flash_sale_buyers b WHERE quantity <> (SELECT coalesce(sum(quantity), 0) FROM stock_reservations r WHERE r.flash_sale_id = b.sale_id AND r.user_id = b.user_id)`); n != 0 {
		t.Fatalf("%d buyers whose count does not match their holds", n)
	}
	if held < 300 || held == units {
		t.Fatalf("the cut did not land mid-storm (%d holds)", held)
	}
	t.Logf("cut after %d holds", held)
}
