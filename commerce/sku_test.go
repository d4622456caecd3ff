package commerce_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tide-live/tide/commerce"
)

func TestReaderSKUs(t *testing.T) {
	src := `{"id":"p1","merchant_id":"m1","title":"T恤","price_fen":9900,"skus":[{"id":"p1-bk-m","spec":{"颜色":"黑","尺码":"M"},"price_fen":9900,"stock":12},{"id":"p1-wt-l","spec":{"颜色":"白","尺码":"L"},"price_fen":"10900","stock":0}]}
{"id":"p2","merchant_id":"m1","title":"帽子","price_fen":100}
{"id":"p3","merchant_id":"m1","title":"坏","price_fen":100,"skus":[{"id":"x","price_fen":1,"stock":-1}]}
{"id":"p4","merchant_id":"m1","title":"坏","price_fen":100,"skus":[{"id":"x","price_fen":1,"stock":1},{"id":"x","price_fen":1,"stock":1}]}
{"id":"p5","merchant_id":"m1","title":"坏","price_fen":100,"skus":[{"id":"x","price_fen":9.9,"stock":1}]}
{"id":"p6","merchant_id":"m1","title":"坏","price_fen":100,"skus":[{"id":"x","stock":1}]}
`
	r, err := commerce.NewReader(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.SKUs) != 2 || p.SKUs[0].Stock != 12 || p.SKUs[1].PriceFen != 10900 || p.SKUs[0].Spec["尺码"] != "M" || p.SKUs[1].ProductID != "p1" {
		t.Fatalf("skus = %+v", p.SKUs)
	}
	if p, err = r.Next(); err != nil || p.SKUs != nil {
		t.Fatalf("a product without skus: %+v %v (nil keeps stored SKUs)", p.SKUs, err)
	}
	for _, field := range []string{"skus[0].stock", "skus[1].id", "skus[0].price_fen", "skus[0].price_fen"} {
		_, err := r.Next()
		var fe *commerce.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("err = %v, want a FieldError on %s", err, field)
		}
	}
}
