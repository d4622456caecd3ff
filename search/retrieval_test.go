package search

import (
	"slices"
	"strings"
	"testing"
)

func TestRetrieval(t *testing.T) {
	ix := sharedIndex(t)
	for _, tc := range []struct{ name, query, want string }{
		{"plain word", "连衣裙", "d1|d2"},
		{"pinyin full", "lianyiqun", "d1|d2"},
		{"pinyin initials", "lyq", "d1|d2"},
		{"pinyin brand+category", "naikeyundongxie", "s1"},
		{"pinyin initials brand+category", "nkydx", "s1"},
		{"latin typo transposed", "iphnoe", "p1"},
		{"latin typo dropped letter", "huawe", "p2"},
		{"latin typo short swap", "nkie", "s1"},
		{"homophone typo", "连衣群", "d1|d2"},
		{"synonym one-way", "尿不湿", "b1"},
		{"dual brand Chinese name", "耐克", "s1"},
		{"dual brand Latin name", "NIKE", "s1"},
		{"dual brand other name", "Pampers", "b1"},
		{"attribute list value", "512GB 华为", "p2"},
		{"run-together", "雅诗兰黛精华液", "c1"},
		{"model number", "mate60", "p2"},
		{"brand + category", "apple手机", "p1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := top(t, ix, tc.query); !slices.Contains(strings.Split(tc.want, "|"), got) {
				t.Errorf("%q: top hit %s, want %s", tc.query, got, tc.want)
			}
		})
	}
}

func TestSynonymsAndScopes(t *testing.T) {
	ix := sharedIndex(t)
	// 裙子 → 连衣裙, 半身裙 (one-way).
	got := ids(search(t, ix, Request{Text: "裙子"}))
	for _, want := range []string{"d1", "d2", "d3"} {
		if !slices.Contains(got, want) {
			t.Errorf("裙子: %v lacks %s", got, want)
		}
	}
	// 苹果 is both the fruit and the brand.
	got = ids(search(t, ix, Request{Text: "苹果"}))
	if !slices.Contains(got, "f1") || !slices.Contains(got, "p1") {
		t.Errorf("苹果: %v, want the fruit and the phone", got)
	}
	// "apple" expands to 苹果 only within electronics: never the fruit.
	got = ids(search(t, ix, Request{Text: "apple"}))
	if slices.Contains(got, "f1") || !slices.Contains(got, "p1") {
		t.Errorf("apple: %v, want the phone and not the fruit", got)
	}
}

func TestInjectionIsPlainText(t *testing.T) {
	ix := sharedIndex(t)
	n := uint64(ix.Len())
	for _, q := range []string{`title:foo OR *`, `+brand:耐克 -title:x`, `"连衣裙" AND /.*/`, `_id:d1`} {
		resp, err := ix.Search(t.Context(), Request{Text: q})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if resp.Total >= n {
			t.Errorf("%q matched all %d products: query syntax was interpreted", q, resp.Total)
		}
	}
	// Only syntax, no words: rejected, not "match everything".
	if _, err := ix.Search(t.Context(), Request{Text: "*:* ( )"}); !isInvalid(err) {
		t.Errorf("punctuation-only query: err %v, want ErrInvalidQuery", err)
	}
}

func TestRelaxation(t *testing.T) {
	ix := sharedIndex(t)
	// No product is both: all words → any word.
	resp := search(t, ix, Request{Text: "耐克 精华液"})
	if len(resp.Hits) == 0 || len(resp.Relaxed) == 0 || resp.Relaxed[0] != RelaxAnyWord {
		t.Errorf("耐克 精华液: hits %v relaxed %v, want any_word", ids(resp), resp.Relaxed)
	}
	// All words match but too few to fill the page: backfilled.
	resp = search(t, ix, Request{Text: "黑色 连衣裙"})
	if resp.Hits[0].Product.ID != "d1" || !slices.Contains(resp.Relaxed, RelaxBackfill) {
		t.Errorf("黑色 连衣裙: %v relaxed %v, want d1 first then backfill", ids(resp), resp.Relaxed)
	}
	// A filter nothing satisfies is dropped, but never the merchant.
	resp = search(t, ix, Request{Text: "连衣裙", Filters: Filters{Brands: []string{"华为"}, MerchantID: "m1"}})
	if !slices.Contains(resp.Relaxed, RelaxNoFilters) || len(resp.Hits) == 0 {
		t.Fatalf("filters not dropped: %v %v", ids(resp), resp.Relaxed)
	}
	for _, h := range resp.Hits {
		if h.Product.MerchantID != "m1" {
			t.Errorf("relaxation dropped the merchant scope: %s from %s", h.Product.ID, h.Product.MerchantID)
		}
	}
	// Strict matches are not relaxed.
	if resp := search(t, ix, Request{Text: "T恤"}); len(resp.Relaxed) != 0 {
		t.Errorf("T恤 relaxed %v", resp.Relaxed)
	}
}

func TestFiltersAndSort(t *testing.T) {
	ix := sharedIndex(t)
	resp := search(t, ix, Request{Text: "T恤", Filters: Filters{MinPriceFen: 10000, MaxPriceFen: 15000}, Sort: SortPriceAsc})
	if resp.Total != 5 {
		t.Errorf("price 100–150元: total %d, want 5", resp.Total)
	}
	for i, h := range resp.Hits {
		if h.Product.PriceFen < 10000 || h.Product.PriceFen > 15000 || i > 0 && h.Product.PriceFen < resp.Hits[i-1].Product.PriceFen {
			t.Errorf("hit %d %s price %d out of range or order", i, h.Product.ID, h.Product.PriceFen)
		}
	}
	if got := ids(search(t, ix, Request{Text: "连衣裙", Filters: Filters{LiveOnly: true}})); !slices.Equal(got, []string{"d2"}) {
		t.Errorf("live only: %v, want [d2]", got)
	}
	if got := ids(search(t, ix, Request{Text: "裙", Filters: Filters{CategoryPrefix: "女装/半身裙"}})); !slices.Equal(got, []string{"d3"}) {
		t.Errorf("category prefix: %v, want [d3]", got)
	}
	if got := ids(search(t, ix, Request{Text: "鞋", Filters: Filters{Brands: []string{"nike"}}})); !slices.Equal(got, []string{"s1"}) {
		t.Errorf("brand filter by Latin name: %v, want [s1]", got)
	}
	resp = search(t, ix, Request{Text: "T恤", Sort: SortSales, Limit: 5})
	if resp.Hits[0].Product.ID != "t23" {
		t.Errorf("by sales: first %s, want t23", resp.Hits[0].Product.ID)
	}
}

func TestFacets(t *testing.T) {
	ix := sharedIndex(t)
	resp := search(t, ix, Request{Text: "T恤", Facets: true})
	f := resp.Facets
	if f == nil || len(f.Categories) == 0 || f.Categories[0] != (FacetCount{"男装/T恤", 24}) {
		t.Fatalf("category facet %+v", f)
	}
	if len(f.Brands) == 0 || f.Brands[0] != (FacetCount{"优衣库/UNIQLO", 24}) {
		t.Errorf("brand facet %+v", f.Brands)
	}
	sum := 0
	for _, b := range f.Prices {
		sum += b.Count
	}
	if sum != 24 || f.Prices[0].Count != 1 || f.Prices[1].Count != 5 {
		t.Errorf("price buckets %+v: want 1 below 50元, 5 in 50–100元, 24 in all", f.Prices)
	}
}

func TestPaginationStable(t *testing.T) {
	ix := sharedIndex(t)
	all := ids(search(t, ix, Request{Text: "纯棉 T恤", Limit: 24}))
	var paged []string
	for off := 0; off < 24; off += 5 {
		paged = append(paged, ids(search(t, ix, Request{Text: "纯棉 T恤", Offset: off, Limit: 5}))...)
	}
	if !slices.Equal(all, paged[:len(all)]) {
		t.Errorf("pages %v differ from one page %v", paged, all)
	}
	seen := map[string]bool{}
	for _, id := range paged {
		if seen[id] {
			t.Errorf("%s on two pages", id)
		}
		seen[id] = true
	}
}

func TestHighlight(t *testing.T) {
	ix := sharedIndex(t)
	resp := search(t, ix, Request{Text: "lianyiqun"})
	if h := resp.Hits[0].TitleHTML; !strings.Contains(h, "<em>连衣裙</em>") {
		t.Errorf("pinyin highlight: %s", h)
	}
	resp = search(t, ix, Request{Text: "四件套"})
	// 床品 is a synonym of 四件套; the brackets are escaped.
	if h := resp.Hits[0].TitleHTML; h != "纯棉<em>四件套</em> &lt;<em>床品</em>&gt; 1.8m床" {
		t.Errorf("escaped highlight: %s", h)
	}
}

func TestBadRequests(t *testing.T) {
	ix := sharedIndex(t)
	for _, req := range []Request{
		{Text: "   "},
		{Text: strings.Repeat("裙", MaxQueryRunes+1)},
		{Text: "裙", Limit: MaxLimit + 1},
		{Text: "裙", Offset: -1},
		{Text: "裙", Offset: MaxDepth},
		{Text: "裙", Sort: "random"},
		{Text: "裙", Filters: Filters{MinPriceFen: 500, MaxPriceFen: 100}},
		{Text: "裙", Filters: Filters{MinPriceFen: -1}},
	} {
		_, err := ix.Search(t.Context(), req)
		if !isInvalid(err) {
			t.Errorf("%+v: err %v, want ErrInvalidQuery", req, err)
		}
	}
}

func TestSuggest(t *testing.T) {
	ix := sharedIndex(t)
	for _, tc := range []struct{ prefix, want string }{
		{"lyq", "连衣裙"}, {"lianyi", "连衣裙"}, {"连衣", "连衣裙"}, {"nai", "耐克"}, {"ni", "nike"}, {"ydx", "运动鞋"},
	} {
		got, err := ix.Suggest(t.Context(), tc.prefix, 5)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, s := range got {
			texts = append(texts, s.Text)
		}
		if !slices.ContainsFunc(texts, func(s string) bool { return strings.EqualFold(s, tc.want) }) {
			t.Errorf("suggest %q: %v, want %s", tc.prefix, texts, tc.want)
		}
	}
	if _, err := ix.Suggest(t.Context(), " ", 5); !isInvalid(err) {
		t.Errorf("empty prefix: %v", err)
	}
}
