package search_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce/democatalog"
	"github.com/tide-live/tide/search"
)

// The benchmarks report CPU time (user+system of the whole process, so
// Bleve's background work counts) next to wall-clock time, because the
// machines they run on are shared: compare cpu-µs/doc and cpu-µs/op with
// benchstat. Speed targets live in bench/search.

// benchCatalog makes n products by varying the demo catalog, like
// bench/search does.
func benchCatalog(b *testing.B, n int) []search.Product {
	b.Helper()
	base, err := search.ReadProducts(democatalog.Open())
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 11))
	extra := []string{"新款", "爆款", "热卖", "特价", "包邮", "正品", "直播专享", "限量", "升级版", "经典款"}
	out := make([]search.Product, n)
	for i := range out {
		p := base[r.IntN(len(base))]
		p.ID = fmt.Sprintf("b%07d", i)
		p.MerchantID = fmt.Sprintf("m%03d", r.IntN(500))
		p.Title = extra[r.IntN(len(extra))] + p.Title
		p.PriceFen = max(100, p.PriceFen+int64(r.IntN(4000))-2000)
		p.Sales = int64(r.ExpFloat64() * 500)
		p.LiveNow = r.IntN(20) == 0
		out[i] = p
	}
	return out
}

var quiet = slog.New(slog.DiscardHandler)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIndexBuild indexes 5,000 products per iteration; the reported
// figures exclude the dictionary load, which does not scale with the
// catalog.
func BenchmarkIndexBuild(b *testing.B) {
	const n = 5000
	catalog := benchCatalog(b, n)
	var cpu, wall time.Duration
	for b.Loop() {
		var c0 time.Duration
		var w0 time.Time
		ix, err := search.New(context.Background(), catalog, search.WithLogger(quiet), search.WithProgress(func(done, _ int) {
			if done == 0 {
				c0, w0 = cpuNow(), time.Now()
			}
		}))
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuNow() - c0
		wall += time.Since(w0)
		b.StopTimer()
		ix.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/doc")
	b.ReportMetric(float64(wall.Microseconds())/float64(n*b.N), "wall-µs/doc")
}

var benchIx struct {
	once sync.Once
	ix   *search.Index
	err  error
}

func benchIndex(b *testing.B) *search.Index {
	benchIx.once.Do(func() {
		benchIx.ix, benchIx.err = search.New(context.Background(), benchCatalog(b, 20000), search.WithLogger(quiet))
	})
	if benchIx.err != nil {
		b.Fatal(benchIx.err)
	}
	return benchIx.ix
}

var benchQueries = []string{"连衣裙", "黑色连衣裙", "耐克运动鞋", "nike 跑步鞋", "华为手机", "iphone", "iphnoe",
	"lianyiqun", "lyq", "kouhong", "ydx", "口红", "雅诗兰黛精华液", "256GB 手机", "纯棉T恤", "裙子",
	"尿不湿", "三只松鼠坚果", "空气炸锅", "huawei mate 60", "白色 板鞋 42", "面膜 补水", "充电宝",
	"小米 扫地机器人", "dyson", "牛肉干 香辣", "四件套 纯棉", "婴儿车", "保温杯", "sanzhisongshu"}

func benchSearch(b *testing.B, faceted bool) {
	ix := benchIndex(b)
	ctx := context.Background()
	i := 0
	c0 := cpuNow()
	for b.Loop() {
		req := search.Request{Text: benchQueries[i%len(benchQueries)], Limit: 20}
		if faceted {
			req.Facets, req.Sort = true, search.SortSales
		}
		if _, err := ix.Search(ctx, req); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64((cpuNow()-c0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkSearchMatch runs the bench's query mix (relevance order) over
// 20,000 products.
func BenchmarkSearchMatch(b *testing.B) { benchSearch(b, false) }

// BenchmarkSearchFaceted adds category, brand and price facets and sorts by
// sales.
func BenchmarkSearchFaceted(b *testing.B) { benchSearch(b, true) }
