// Command search benchmarks product search: it builds synthetic products
// from the demo catalog, indexes them with the production analysis (tide's
// search.Index) and, for comparison, into a plain Bleve index with the
// default analyzer (raw.go), and measures match and faceted query latency
// and change-to-searchable time. Query latency is taken in -rounds
// interleaved rounds (each round runs the same queries on tide then raw, or
// raw then tide, alternating), in process, one query at a time with no other
// load; each figure is the median over rounds of that round's p50 or p99
// (the lowest and highest round's p99 of each side are printed beside).
// The last line is
//
//	index_dps=<int> match_p99_ms=<float> faceted_p99_ms=<float> update_p99_ms=<float> raw_match_p99_ms=<float> raw_faceted_p99_ms=<float> match_ratio=<float> faceted_ratio=<float>
//
// where a ratio is tide's p99 over raw Bleve's (above 1: tide is slower).
// index_dps and update_p99_ms have no raw side (one build; updates need the
// real index). Run: go run ./bench/search -products 100000   (or 20000 for
// a quick run)
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

	"github.com/tide-live/tide/bench/rounds"
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
	queries := flag.Int("queries", 1000, "queries per latency measurement and side, split over the rounds")
	nRounds := flag.Int("rounds", 5, "interleaved tide/raw rounds of the query measurements (at least 5)")
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
	if *nRounds < 5 || *queries < *nRounds {
		fmt.Fprintln(os.Stderr, "bench/search: -rounds must be at least 5 and -queries at least -rounds")
		os.Exit(2)
	}
	if err := run(ctx, *n, *queries, *nRounds, *updates, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "bench/search:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, n, nq, nRounds, nu, batch int) error {
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

	rawStart := time.Now()
	raw, err := newRawIndex(ctx, products, func(done, total int) {
		if time.Since(lastPrint) > 2*time.Second || done == total {
			lastPrint = time.Now()
			fmt.Fprintf(os.Stderr, "raw bleve indexing %d/%d\n", done, total)
		}
	})
	if err != nil {
		return err
	}
	defer raw.close()
	rawDPS := float64(n) / time.Since(rawStart).Seconds()
	fmt.Printf("raw bleve (default analyzer) indexed %d products: %.0f docs/s (one build each side, not interleaved: tide/raw %.2f)\n",
		n, rawDPS, dps/rawDPS)

	texts := queryTexts()
	match, rawMatch, err := compare(ctx, ix, raw, r, texts, nq, nRounds, false)
	if err != nil {
		return err
	}
	fmt.Printf("match query p50 %.2f ms p99 %.2f ms (target ≤ %d ms: %.2f of limit); raw bleve p50 %.2f ms p99 %.2f ms; p99 tide/raw %.2f (medians of %d rounds)\n",
		match.p50, match.p99, targetMatchMS, match.p99/targetMatchMS, rawMatch.p50, rawMatch.p99, match.p99/rawMatch.p99, nRounds)
	faceted, rawFaceted, err := compare(ctx, ix, raw, r, texts, nq, nRounds, true)
	if err != nil {
		return err
	}
	fmt.Printf("faceted query (text + 3 facets + sort by sales) p50 %.2f ms p99 %.2f ms (target ≤ %d ms: %.2f of limit); raw bleve p50 %.2f ms p99 %.2f ms; p99 tide/raw %.2f (medians of %d rounds)\n",
		faceted.p50, faceted.p99, targetFacetedMS, faceted.p99/targetFacetedMS, rawFaceted.p50, rawFaceted.p99, faceted.p99/rawFaceted.p99, nRounds)
	upd, err := updateLatency(ctx, ix, r, products, nu)
	if err != nil {
		return err
	}
	fmt.Printf("change-to-searchable p50 %.2f ms p99 %.2f ms (target ≤ %d ms: %.3f of limit)\n", upd.p50, upd.p99, targetUpdateMS, upd.p99/targetUpdateMS)
	fmt.Printf("index_dps=%d match_p99_ms=%.3f faceted_p99_ms=%.3f update_p99_ms=%.3f raw_match_p99_ms=%.3f raw_faceted_p99_ms=%.3f match_ratio=%.3f faceted_ratio=%.3f\n",
		int(dps), match.p99, faceted.p99, upd.p99, rawMatch.p99, rawFaceted.p99, match.p99/rawMatch.p99, faceted.p99/rawFaceted.p99)
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

// compare times the same queries on tide's index and on raw Bleve in
// nRounds interleaved rounds of nq/nRounds queries each, alternating which
// side goes first, and returns for each side the median over rounds of the
// rounds' p50 and p99.
func compare(ctx context.Context, ix *search.Index, raw *rawIndex, r *rand.Rand, texts []string, nq, nRounds int, faceted bool) (tide, bleve dist, err error) {
	per := nq / nRounds
	var tideRounds, rawRounds []dist
	var tideCPU, rawCPU time.Duration
	for round := range nRounds {
		qs := make([]string, per)
		for i := range qs {
			qs[i] = texts[r.IntN(len(texts))]
		}
		tideSide := func() error {
			d, cpu, err := timeQueries(qs, func(text string) error {
				req := search.Request{Text: text, Limit: 20}
				if faceted {
					req.Facets = true
					req.Sort = search.SortSales
				}
				_, err := ix.Search(ctx, req)
				return err
			})
			tideRounds, tideCPU = append(tideRounds, d), tideCPU+cpu
			return err
		}
		rawSide := func() error {
			d, cpu, err := timeQueries(qs, func(text string) error { return raw.search(ctx, text, faceted) })
			rawRounds, rawCPU = append(rawRounds, d), rawCPU+cpu
			return err
		}
		first, second := tideSide, rawSide
		if round%2 == 1 {
			first, second = rawSide, tideSide
		}
		if err := first(); err != nil {
			return dist{}, dist{}, err
		}
		if err := second(); err != nil {
			return dist{}, dist{}, err
		}
		fmt.Fprintf(os.Stderr, "round %d/%d: tide p99 %.2f ms, raw p99 %.2f ms\n", round+1, nRounds,
			tideRounds[round].p99, rawRounds[round].p99)
	}
	q := float64(per * nRounds)
	fmt.Printf("  (%.0f µs CPU per query, raw bleve %.0f µs)\n", float64(tideCPU.Microseconds())/q, float64(rawCPU.Microseconds())/q)
	fmt.Printf("  p99 ms over the rounds: tide %s; raw bleve %s\n", p99Spread(tideRounds), p99Spread(rawRounds))
	return medianDist(tideRounds), medianDist(rawRounds), nil
}

// timeQueries runs one query after another and returns their p50 and p99
// and the CPU they took.
func timeQueries(qs []string, query func(string) error) (dist, time.Duration, error) {
	ms := make([]float64, 0, len(qs))
	cpu0 := cpuTime()
	for _, text := range qs {
		t := time.Now()
		if err := query(text); err != nil {
			return dist{}, 0, err
		}
		ms = append(ms, float64(time.Since(t).Microseconds())/1000)
	}
	return percentiles(ms), cpuTime() - cpu0, nil
}

// p99Spread is the spread of the rounds' p99s.
func p99Spread(ds []dist) rounds.Spread {
	p99s := make([]float64, len(ds))
	for i, d := range ds {
		p99s[i] = d.p99
	}
	return rounds.Summarize(p99s)
}

// medianDist is the median of the rounds' p50s and of their p99s.
func medianDist(ds []dist) dist {
	p50s, p99s := make([]float64, len(ds)), make([]float64, len(ds))
	for i, d := range ds {
		p50s[i], p99s[i] = d.p50, d.p99
	}
	return dist{rounds.Median(p50s), rounds.Median(p99s)}
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
