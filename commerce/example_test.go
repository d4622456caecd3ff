package commerce_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/tide-live/tide/commerce"
)

// printer is a ProductWriter that prints what it would store; in tide it is
// a commerce/postgres.Store.
type printer struct{}

func (printer) WriteProducts(_ context.Context, ps []commerce.Product) (commerce.WriteResult, error) {
	for _, p := range ps {
		fmt.Printf("store %s %q %s ¥%d.%02d %v\n", p.ID, p.Title, p.Category, p.PriceFen/100, p.PriceFen%100, p.Attrs["颜色"])
	}
	return commerce.WriteResult{Created: len(ps)}, nil
}

func ExampleImport() {
	file := `{"id":"p00001","merchant_id":"m01","title":"法式碎花连衣裙","brand":"无品牌","category":"女装/连衣裙","price_fen":29900,"sales":1234,"attrs":{"颜色":["黑色","白色"],"尺码":"M"}}
{"id":"p00002","merchant_id":"m01","title":"","price_fen":100}
{"id":"p00003","merchant_id":"m01","title":"运动T恤","brand":"耐克/Nike","category":"运动服/T恤","price_fen":19900,"attrs":{"颜色":"红色"}}
`
	r, err := commerce.NewReader(strings.NewReader(file)) // JSON Lines, detected from the first byte
	if err != nil {
		fmt.Println(err)
		return
	}
	sum, err := commerce.Import(context.Background(), r, printer{},
		commerce.OnReject(func(e *commerce.LineError) { fmt.Println("rejected", e) }))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("created %d, rejected %d\n", sum.Created, sum.Rejected)
	// Output:
	// rejected line 2 (id p00002): title: missing
	// store p00001 "法式碎花连衣裙" 女装/连衣裙 ¥299.00 [黑色 白色]
	// store p00003 "运动T恤" 运动服/T恤 ¥199.00 [红色]
	// created 2, rejected 1
}
