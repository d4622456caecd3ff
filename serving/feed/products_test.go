package feed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
)

func productID(c, k int) string { return fmt.Sprintf("p-%d-%02d", c, k) }

var (
	productModelOnce sync.Once
	testProductModel *ranker.Model
)

// productWorld adds 10 products per category (product k of category c
// sold by merchant m{k}), shelves (each room sells 6 products of its
// category) and a product model trained on single-category shoppers.
func productWorld(t *testing.T, opts ...Option) *world {
	productModelOnce.Do(func() {
		rng := rand.New(rand.NewPCG(3, 3))
		x := ranker.NewInteractions()
		for u := range 400 {
			c := u % 4
			for k := range 5 {
				p := rng.IntN(10)
				if rng.IntN(3) == 0 {
					p = rng.IntN(3) // the first three of a category sell best
				}
				x.Add(fmt.Sprintf("shopper-%d", u), productID(c, p), t0.Add(-24*time.Hour).Unix()+int64(k*60), 0.5)
			}
		}
		cfg := ranker.DefaultConfig()
		cfg.MF.Factors, cfg.MF.Iterations = 8, 4
		m, err := ranker.Train(context.Background(), x, cfg)
		if err != nil {
			panic(err)
		}
		testProductModel = m
	})
	w := newWorld(t, append([]Option{WithProductModel(ranker.NewStore(testProductModel))}, opts...)...)
	for c := range 4 {
		for k := range 10 {
			w.cat.PutProducts(ProductInfo{ID: productID(c, k), MerchantID: fmt.Sprintf("m%02d", k), Category: categories[c]})
		}
	}
	for i := range 40 {
		var l []string
		for k := range 6 {
			l = append(l, productID(i%4, (i+k)%10))
		}
		w.cat.SetLineup(roomID(i), l)
	}
	w.svc.Refresh()
	return w
}

func (w *world) productEvent(typ tidev1.EventType, user, pid string) {
	e := w.ev(typ, user, -1)
	e.ProductId = pid
	info, _ := w.cat.Product(pid)
	e.MerchantId, e.Attrs = info.MerchantID, map[string]string{"category": info.Category, "order_id": "o-" + e.EventId}
	e.Value = 9900
	w.apply(e)
}

func (w *world) products(user string, req *tidev1.ProductsRequest) *tidev1.ProductsResponse {
	w.t.Helper()
	res, err := w.svc.Products(context.Background(), user, req)
	if err != nil {
		w.t.Fatalf("Products: %v", err)
	}
	return res
}

func productIDs(items []*tidev1.ProductItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.GetProductId()
	}
	return out
}

func TestProductsForYou(t *testing.T) {
	w := productWorld(t)
	w.productEvent(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, "mia", productID(2, 5))
	w.productEvent(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, "mia", productID(2, 6))
	w.productEvent(tidev1.EventType_EVENT_TYPE_ORDER_PAID, "mia", productID(2, 0))
	res := w.products("mia", &tidev1.ProductsRequest{PageSize: 12, Explain: true})
	food, similar := 0, 0
	for _, it := range res.Items {
		if it.GetProductId() == productID(2, 0) {
			t.Errorf("a bought product is in the for-you feed at %d", it.GetPosition())
		}
		if it.GetCategory() == "食品" {
			food++
		}
		for _, r := range it.GetReasons() {
			if r.GetKind() == tidev1.ReasonKind_REASON_KIND_SIMILAR_TO_RECENT {
				similar++
			}
		}
	}
	if food < 4 || similar < 2 {
		t.Errorf("a 食品 shopper gets %d 食品 products and %d CF ones in 12: %v", food, similar, productIDs(res.Items))
	}
	if res.GetNextCursor() == "" {
		t.Fatal("no next page of 160 products")
	}
	p2 := w.products("mia", &tidev1.ProductsRequest{PageSize: 12, Cursor: res.GetNextCursor()})
	seen := map[string]bool{}
	for _, id := range append(productIDs(res.Items), productIDs(p2.Items)...) {
		if seen[id] {
			t.Fatalf("%s on two pages", id)
		}
		seen[id] = true
	}
	// Live rooms selling a product are named.
	for _, it := range res.Items {
		if it.GetRoomId() == "" {
			t.Errorf("%s: no live room selling it, though every product is on a live shelf", it.GetProductId())
		}
	}
}

func TestShelfOrderedForViewer(t *testing.T) {
	w := productWorld(t)
	room := roomID(6) // 食品, sells p-2-06 … p-2-01
	base := w.products("ned", &tidev1.ProductsRequest{RoomId: room, Explain: true})
	if len(base.Items) != 6 {
		t.Fatalf("shelf of %s has %d items, want 6", room, len(base.Items))
	}
	for _, it := range base.Items {
		if it.GetRoomId() != room || it.GetCategory() != "食品" {
			t.Errorf("shelf item %v", it)
		}
	}
	last := base.Items[0].GetProductId()
	w.productEvent(tidev1.EventType_EVENT_TYPE_ORDER_PAID, "ned", last)
	after := w.products("ned", &tidev1.ProductsRequest{RoomId: room})
	if got := after.Items[len(after.Items)-1].GetProductId(); got != last {
		t.Errorf("bought %s is not last on the shelf: %v", last, productIDs(after.Items))
	}
	// An operator pin puts a product first.
	pinned := base.Items[4].GetProductId()
	if err := w.svc.SetRules(Rules{Pins: []Pin{{RoomID: room, ProductID: pinned, Position: 0}}}); err != nil {
		t.Fatal(err)
	}
	res := w.products("ned", &tidev1.ProductsRequest{RoomId: room, Explain: true})
	if got := res.Items[0]; got.GetProductId() != pinned || got.GetReasons()[0].GetKind() != tidev1.ReasonKind_REASON_KIND_PINNED {
		t.Errorf("pinned %s, got %v", pinned, got)
	}
}
