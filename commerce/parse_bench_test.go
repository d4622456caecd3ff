package commerce

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkReadJSONLines measures parsing and validation alone (no storage).
func BenchmarkReadJSONLines(b *testing.B) {
	var sb strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&sb, `{"id":"p%07d","merchant_id":"m%03d","title":"女装/连衣裙 商品 %d 夏季新款","brand":"耐克/Nike","category":"女装/连衣裙","price_fen":%d,"sales":%d,"description":"舒适透气 百搭 第%d款","attrs":{"颜色":["黑色","白色","红色"],"尺码":["S","M","L"],"材质":"棉"}}`+"\n",
			i, i%200, i, 1000+i, i%5000, i)
	}
	src := sb.String()
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for range b.N {
		r, _ := NewReader(strings.NewReader(src))
		n := 0
		for {
			p, err := r.Next()
			if err != nil {
				break
			}
			_ = p.ContentHash()
			n++
		}
		if n != 10000 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "lines/s")
}
