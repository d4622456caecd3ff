// Command search benchmarks product search: it builds synthetic products
// from the demo catalog, indexes them with the production analysis, and
// measures match and faceted query latency and change-to-searchable time.
// The last line is
//
//	index_dps=<int> match_p99_ms=<float> faceted_p99_ms=<float> update_p99_ms=<float>
//
// Run: go run ./bench/search -products 100000   (or 20000 for a quick run)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/tide-live/tide/commerce/democatalog"
	"github.com/tide-live/tide/search"
)

// Targets (docs/DESIGN "what good means"): the limits the figures are
// compared with.
const (
	targetIndexDPS  = 5000
	targetMatchMS   = 10
	targetFacetedMS = 25
	targetUpdateMS  = 1000
)

func main() {
	n := flag.Int("products", 100000, "synthetic products to index")
	queries := flag.Int("queries", 1000, "queries per latency measurement")
	updates := flag.Int("updates", 200, "updates for the change-to-searchable measurement")
	batch := flag.Int("batch", 0, "build batch size (0: the index default)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/search:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench/search:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *n, *queries, *updates, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "bench/search:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, n, nq, nu, batch int) error {
	base, err := search.ReadProducts(democatalog.Open())
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(7, 11))
	products := synthesize(r, base, n)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	var indexStart time.Time
	var cpuStart time.Duration
	lastPrint := time.Now()
	progress := func(done, total int) {
		if done == 0 {
			indexStart, cpuStart = time.Now(), cpuTime()
			fmt.Fprintf(os.Stderr, "analysis ready; indexing %d products\n", total)
			return
		}
		if time.Since(lastPrint) > 2*time.Second || done == total {
			lastPrint = time.Now()
			fmt.Fprintf(os.Stderr, "indexing %d/%d (%.0f%%)\n", done, total, 100*float64(done)/float64(total))
		}
	}
	start := time.Now()
	opts := []search.Option{search.WithLogger(log), search.WithProgress(progress)}
	if batch > 0 {
		opts = append(opts, search.WithBuildBatch(batch))
	}
	ix, err := search.New(ctx, products, opts...)
	if err != nil {
		return err
	}
	defer ix.Close()
	total := time.Since(start)
	// Count from the end of analysis setup (dictionary load), which does
	// not scale with n.
	indexing := time.Since(indexStart)
	cpu := cpuTime() - cpuStart
	dps := float64(n) / indexing.Seconds()
	fmt.Printf("indexed %d products: %.1fs total, %.1fs indexing after analysis setup, %.0f docs/s (target ≥ %d: %.2f×); %.0f µs CPU per product (%d cores: %.0f docs/s if CPU-bound)\n",
		n, total.Seconds(), indexing.Seconds(), dps, targetIndexDPS, dps/targetIndexDPS,
		float64(cpu.Microseconds())/float64(n), runtime.NumCPU(), float64(n*runtime.NumCPU())/cpu.Seconds())

	texts := queryTexts()
	match, err := latency(ctx, ix, r, texts, nq, false)
	if err != nil {
		return err
	}
	fmt.Printf("match query p50 %.2f ms p99 %.2f ms (target ≤ %d ms: %.2f of limit)\n", match.p50, match.p99, targetMatchMS, match.p99/targetMatchMS)
	faceted, err := latency(ctx, ix, r, texts, nq, true)
	if err != nil {
		return err
	}
	fmt.Printf("faceted query (text + 3 facets + sort by sales) p50 %.2f ms p99 %.2f ms (target ≤ %d ms: %.2f of limit)\n",
		faceted.p50, faceted.p99, targetFacetedMS, faceted.p99/targetFacetedMS)
	upd, err := updateLatency(ctx, ix, r, products, nu)
	if err != nil {
		return err
	}
	fmt.Printf("change-to-searchable p50 %.2f ms p99 %.2f ms (target ≤ %d ms: %.3f of limit)\n", upd.p50, upd.p99, targetUpdateMS, upd.p99/targetUpdateMS)
	fmt.Printf("index_dps=%d match_p99_ms=%.3f faceted_p99_ms=%.3f update_p99_ms=%.3f\n", int(dps), match.p99, faceted.p99, upd.p99)
	return nil
}

// synthesize makes n products by varying the demo catalog: new ids and
// merchants, shuffled selling words, jittered prices and sales.
func synthesize(r *rand.Rand, base []search.Product, n int) []search.Product {
	extra := []string{"新款", "爆款", "热卖", "特价", "包邮", "正品", "直播专享", "限量", "升级版", "经典款"}
	out := make([]search.Product, n)
	for i := range out {
		p := base[r.IntN(len(base))]
		p.ID = fmt.Sprintf("b%07d", i)
		p.MerchantID = fmt.Sprintf("m%03d", r.IntN(500))
		p.Title = extra[r.IntN(len(extra))] + p.Title
		if r.IntN(3) == 0 {
			p.Title += extra[r.IntN(len(extra))]
		}
		p.PriceFen = max(100, p.PriceFen+int64(r.IntN(4000))-2000)
		p.Sales = int64(r.ExpFloat64() * 500)
		p.LiveNow = r.IntN(20) == 0
		out[i] = p
	}
	return out
}

// queryTexts are typical user queries of every kind.
func queryTexts() []string {
	return []string{"连衣裙", "黑色连衣裙", "耐克运动鞋", "nike 跑步鞋", "华为手机", "iphone", "iphnoe",
		"lianyiqun", "lyq", "kouhong", "ydx", "口红", "雅诗兰黛精华液", "256GB 手机", "纯棉T恤", "裙子",
		"尿不湿", "三只松鼠坚果", "空气炸锅", "huawei mate 60", "白色 板鞋 42", "面膜 补水", "充电宝",
		"小米 扫地机器人", "dyson", "牛肉干 香辣", "四件套 纯棉", "婴儿车", "保温杯", "sanzhisongshu"}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type dist struct{ p50, p99 float64 }

func percentiles(ms []float64) dist {
	sort.Float64s(ms)
	at := func(q float64) float64 { return ms[min(len(ms)-1, int(q*float64(len(ms))))] }
	return dist{at(0.50), at(0.99)}
}

func latency(ctx context.Context, ix *search.Index, r *rand.Rand, texts []string, n int, faceted bool) (dist, error) {
	ms := make([]float64, 0, n)
	cpu0 := cpuTime()
	defer func() {
		fmt.Printf("  (%.0f µs CPU per query)\n", float64((cpuTime()-cpu0).Microseconds())/float64(n))
	}()
	for i := 0; i < n; i++ {
		req := search.Request{Text: texts[r.IntN(len(texts))], Limit: 20}
		if faceted {
			req.Facets = true
			req.Sort = search.SortSales
		}
		t := time.Now()
		if _, err := ix.Search(ctx, req); err != nil {
			return dist{}, err
		}
		ms = append(ms, float64(time.Since(t).Microseconds())/1000)
	}
	return percentiles(ms), nil
}

// updateLatency changes a product's title to carry a new word and measures
// until a search for that word finds it.
func updateLatency(ctx context.Context, ix *search.Index, r *rand.Rand, products []search.Product, n int) (dist, error) {
	ms := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		p := products[r.IntN(len(products))]
		word := fmt.Sprintf("zq%sx", strings.Repeat(string(rune('a'+i%26)), 1+i/26%5)) + fmt.Sprint(i)
		p.Title = p.Title + " " + word
		t := time.Now()
		if err := ix.Upsert(ctx, p); err != nil {
			return dist{}, err
		}
		for {
			resp, err := ix.Search(ctx, search.Request{Text: word, Limit: 1})
			if err != nil {
				return dist{}, err
			}
			if len(resp.Hits) > 0 && resp.Hits[0].Product.ID == p.ID {
				break
			}
			if time.Since(t) > 10*time.Second {
				return dist{}, fmt.Errorf("update of %s not searchable after 10s", p.ID)
			}
			time.Sleep(time.Millisecond)
		}
		ms = append(ms, float64(time.Since(t).Microseconds())/1000)
	}
	return percentiles(ms), nil
}
