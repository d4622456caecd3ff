// Command gen writes the demo catalog (catalog.jsonl) and, with -queries, a
// labelled search query set. It is deterministic: the same flags always
// produce the same files.
//
//	go run ./commerce/democatalog/gen -out commerce/democatalog/catalog.jsonl \
//	    -queries search/testdata/queries.tsv
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", "commerce/democatalog/catalog.jsonl", "catalog output (JSON Lines)")
	queries := flag.String("queries", "", "also write a labelled query set (TSV) here")
	perLeaf := flag.Int("per-leaf", 40, "average products per category")
	seed := flag.Uint64("seed", 20240601, "random seed")
	flag.Parse()
	r := &rng{rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15))}
	products := generate(r, *perLeaf)
	if err := writeCatalog(*out, products); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gen: %d products → %s\n", len(products), *out)
	if *queries != "" {
		n, err := writeQueries(*queries, r, products)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "gen: %d queries → %s\n", n, *queries)
	}
}

// product is one catalog line.
type product struct {
	ID          string         `json:"id"`
	MerchantID  string         `json:"merchant_id"`
	Title       string         `json:"title"`
	Brand       string         `json:"brand"`
	Category    string         `json:"category"`
	PriceFen    int64          `json:"price_fen"`
	Sales       int64          `json:"sales"`
	Description string         `json:"description"`
	Attrs       map[string]any `json:"attrs"`
	LiveNow     bool           `json:"live_now,omitempty"`
	ListedAt    string         `json:"listed_at"`

	leaf *leaf
}

var marketing = []string{"2024新款", "新款", "爆款", "直播间专享", "官方正品", "限时秒杀", "热卖", "官方旗舰"}

func generate(r *rng, perLeaf int) []product {
	var out []product
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for li := range leaves {
		l := &leaves[li]
		n := perLeaf - perLeaf/4 + r.IntN(perLeaf/2+1)
		for range n {
			brand := r.pick(l.brands)
			attrs := l.attrs(r, brand)
			price := int64(l.priceYuan[0]+r.IntN(l.priceYuan[1]-l.priceYuan[0]+1))*100 - 100 + 90
			sales := int64(math.Exp(r.NormFloat64()*1.6 + 5.5))
			p := product{
				ID:         fmt.Sprintf("p%05d", len(out)+1),
				MerchantID: fmt.Sprintf("m%02d", 1+(li*3+r.IntN(3))%40),
				Brand:      brand, Category: l.top + "/" + l.name,
				PriceFen: price, Sales: sales, Attrs: attrs,
				LiveNow:  r.IntN(100) < 8,
				ListedAt: epoch.Add(time.Duration(r.IntN(500*24)) * time.Hour).Format(time.RFC3339),
				leaf:     l,
			}
			p.Title = title(r, l, brand, attrs)
			p.Description = description(r, l, attrs)
			out = append(out, p)
		}
	}
	return out
}

func title(r *rng, l *leaf, brand string, attrs map[string]any) string {
	var parts []string
	if brand != "无品牌" && r.IntN(100) < 85 {
		parts = append(parts, brandDisplay(r, brand))
	}
	if m, ok := attrs["型号"].(string); ok && r.IntN(100) < 75 {
		parts = append(parts, m)
	}
	for _, w := range r.some(marketing, 0, 2) {
		parts = append(parts, w)
	}
	for _, k := range []string{"季节", "风格", "材质", "功效", "口味"} {
		if v := first(attrs[k]); v != "" && r.IntN(100) < 35 {
			parts = append(parts, v)
		}
	}
	if c := first(attrs["颜色"]); c != "" && r.IntN(100) < 25 {
		parts = append(parts, c)
	}
	parts = append(parts, r.some(l.words, 1, 2)...)
	noun := l.nouns[0]
	if r.IntN(100) >= 55 {
		noun = r.pick(l.nouns)
	}
	parts = append(parts, noun)
	switch {
	case l.top == "女装" && r.IntN(2) == 0:
		parts = append(parts, "女")
	case l.top == "男装" && r.IntN(2) == 0:
		parts = append(parts, "男")
	}
	if v := first(attrs["净含量"]); v != "" && r.IntN(100) < 40 {
		parts = append(parts, v)
	}
	// Live-commerce titles mostly run words together; a few use spaces.
	sep := ""
	if r.IntN(100) < 20 {
		sep = " "
	}
	return strings.Join(parts, sep)
}

func brandDisplay(r *rng, brand string) string {
	names := strings.Split(brand, "/")
	if len(names) == 1 {
		return brand
	}
	switch r.IntN(5) {
	case 0, 1:
		return names[0]
	case 2:
		return names[1]
	case 3:
		return names[0] + names[1]
	}
	return names[1] + "/" + names[0]
}

func description(r *rng, l *leaf, attrs map[string]any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "这款%s", l.name)
	for _, k := range []string{"材质", "功效", "口味", "功能", "风格"} {
		if v := first(attrs[k]); v != "" {
			fmt.Fprintf(&b, "，%s%s", strings.TrimSuffix(k, "材质"), v)
		}
	}
	fmt.Fprintf(&b, "，%s。%s", r.pick(l.words), r.pick([]string{"直播间下单享优惠。", "七天无理由退换。", "顺丰包邮，现货速发。", "主播亲测推荐。"}))
	return b.String()
}

func first(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []string:
		if len(x) > 0 {
			return x[0]
		}
	}
	return ""
}

func writeCatalog(path string, ps []product) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range ps {
		if err := enc.Encode(&ps[i]); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// rng adds catalog helpers to a seeded generator.
type rng struct{ *rand.Rand }

func (r *rng) pick(list []string) string { return list[r.IntN(len(list))] }

// some returns lo..hi distinct items in list order; a single item is a
// string (the catalog's two attribute shapes).
func (r *rng) some(list []string, lo, hi int) []string {
	n := min(len(list), lo+r.IntN(hi-lo+1))
	idx := r.Perm(len(list))[:n]
	var out []string
	for i, s := range list {
		for _, j := range idx {
			if i == j {
				out = append(out, s)
			}
		}
	}
	return out
}

// run returns a contiguous run of lo..hi items (a size range).
func (r *rng) run(list []string, lo, hi int) []string {
	n := min(len(list), lo+r.IntN(hi-lo+1))
	start := r.IntN(len(list) - n + 1)
	return append([]string(nil), list[start:start+n]...)
}
