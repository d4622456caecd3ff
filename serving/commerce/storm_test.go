package commerce_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
)

// TestFlashSaleStorm: 2,000 concurrent buyers (1,000 users, two devices
// each) on a 100-unit flash sale with a limit of one per user, through the
// RPC: exactly 100 orders, one user one order, stock never below zero.
func TestFlashSaleStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("storm")
	}
	r := newRig(t)
	ctx := context.Background()
	var stock int64
	if err := r.store.Pool().QueryRow(ctx, `UPDATE skus SET stock = 1000 WHERE id = 'p1-a' RETURNING stock`).Scan(&stock); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := r.store.CreateFlashSale(ctx, commerce.FlashSale{ID: "fs", MerchantID: "m1", SKUID: "p1-a", PriceFen: 990,
		StartsAt: now.Add(-time.Second), EndsAt: now.Add(time.Hour), Allotment: 100, PerUserLimit: 1}); err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = 64, 64
	c := tidev1connect.NewCommerceServiceClient(&http.Client{Transport: tr}, r.url)

	var (
		wg                        sync.WaitGroup
		created, soldOut, limited atomic.Int64
		start                     = make(chan struct{})
	)
	for b := range 2000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			u := fmt.Sprintf("storm-%d", b/2)
			res, err := c.Submit(ctx, user(u, &tidev1.SubmitRequest{Items: []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 1}}, FlashSaleId: "fs", IdempotencyKey: fmt.Sprint("dev-", b)}))
			switch {
			case err == nil && res.Msg.GetCreated():
				created.Add(1)
				if res.Msg.GetOrder().GetPayFen() != 990 {
					t.Errorf("flash order at %d fen", res.Msg.GetOrder().GetPayFen())
				}
			case connect.CodeOf(err) == connect.CodeResourceExhausted:
				// sold out, or this user's other device won
				if strings.Contains(err.Error(), "sold out") {
					soldOut.Add(1)
				} else {
					limited.Add(1)
				}
			default:
				t.Errorf("buyer %d: %v", b, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if created.Load() != 100 {
		t.Fatalf("%d orders from a 100-unit allotment (%d sold out, %d over the limit)", created.Load(), soldOut.Load(), limited.Load())
	}
	q := func(sql string) int64 {
		var n int64
		if err := r.store.Pool().QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := q(`SELECT count(*) FROM orders WHERE flash_sale_id = 'fs'`); n != 100 {
		t.Fatalf("%d orders stored", n)
	}
	if n := q(`SELECT count(*) FROM (SELECT user_id FROM orders GROUP BY user_id HAVING count(*) > 1) x`); n != 0 {
		t.Fatalf("%d users with two orders", n)
	}
	if rem, held := q(`SELECT remaining FROM flash_sales WHERE id = 'fs'`), q(`SELECT coalesce(sum(quantity), 0) FROM stock_reservations WHERE flash_sale_id = 'fs' AND state = 'held'`); rem != 0 || held != 100 {
		t.Fatalf("remaining %d, held %d", rem, held)
	}
	if n := q(`SELECT stock FROM skus WHERE id = 'p1-a'`); n != 900 {
		t.Fatalf("SKU stock %d, want 900 (the sale's 100 kept apart)", n)
	}
	if n := q(`SELECT count(*) FROM event_outbox WHERE event_type = 'order_created'`); n != 100 {
		t.Fatalf("%d order_created events", n)
	}
	// order_lines has no foreign key to orders (commerce migration 00009):
	// the statement that writes an order writes its lines.
	if n := q(`SELECT count(*) FROM order_lines l WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = l.order_id)`); n != 0 {
		t.Fatalf("%d order lines without their order", n)
	}
	if n := q(`SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)
		OR (SELECT count(*) FROM order_transitions t WHERE t.order_id = o.id) != 3`); n != 0 {
		t.Fatalf("%d orders without their line and three transitions", n)
	}
}
