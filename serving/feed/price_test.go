package feed

import (
	"fmt"
	"testing"

	"github.com/tide-live/tide/features/memory"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// TestPriceBandReranks: products k < 5 of every category cost 10 yuan,
// the rest 500 yuan (the best sellers are cheap). A viewer whose
// long-term memory holds only 500-yuan orders gets more 500-yuan products
// in their first page than the same viewer without memory.
func TestPriceBandReranks(t *testing.T) {
	price := func(k int) int64 {
		if k < 5 {
			return 1000
		}
		return 50000
	}
	b := memory.NewBuilder(memory.Options{})
	for i := range 3 {
		b.Add(&tidev1.Event{EventId: fmt.Sprintf("old%d", i), Type: tidev1.EventType_EVENT_TYPE_ORDER_PAID, Ts: 1, ReceivedAt: 1,
			UserId: "pia", MerchantId: "m00", ProductId: productID(3, 5+i), Value: 50000})
	}
	dearShare := func(opts ...Option) int {
		t.Helper()
		w := productWorld(t, opts...)
		for c := range 4 {
			for k := range 10 {
				info, _ := w.cat.Product(productID(c, k))
				info.PriceFen = price(k)
				w.cat.PutProducts(info)
			}
		}
		w.svc.Refresh()
		w.productEvent(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, "pia", productID(1, 7))
		res := w.products("pia", &tidev1.ProductsRequest{PageSize: 10})
		n := 0
		for _, it := range res.Items {
			if it.GetPriceFen() == 50000 {
				n++
			}
		}
		return n
	}
	without := dearShare()
	with := dearShare(WithMemory(b.Memory()))
	if with <= without {
		t.Errorf("500-yuan products in the first 10: %d with a 500-yuan price band, %d without: the band does not re-rank", with, without)
	}
	t.Logf("500-yuan products in the first 10: %d with the band, %d without", with, without)
}
