package search

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/search"
	"github.com/tide-live/tide/serving"
)

var quiet = slog.New(slog.DiscardHandler)

func catalog() []search.Product {
	ps := []search.Product{
		{ID: "d1", MerchantID: "m1", Title: "法式碎花收腰连衣裙女夏", Brand: "伊芙丽", Category: "女装/连衣裙", PriceFen: 29900, Sales: 900,
			Attrs: search.Attrs{"颜色": {"黑色", "白色"}}},
		{ID: "d2", MerchantID: "m1", Title: "气质长袖连衣裙", Brand: "无品牌", Category: "女装/连衣裙", PriceFen: 15900, Sales: 120},
		{ID: "s1", MerchantID: "m3", Title: "Nike耐克 Air 气垫男子运动鞋", Brand: "耐克/Nike", Category: "鞋靴/运动鞋", PriceFen: 89900, Sales: 5000},
		{ID: "p1", MerchantID: "m4", Title: "Apple iPhone 15 Pro 256GB 5G手机", Brand: "苹果/Apple", Category: "数码/手机", PriceFen: 799900, Sales: 8000},
		{ID: "h1", MerchantID: "m8", Title: "纯棉四件套 <床品> 1.8m床", Brand: "水星家纺", Category: "家居/四件套", PriceFen: 39900, Sales: 800},
	}
	for i, c := range []string{"黑色", "白色", "灰色", "黑色", "白色", "灰色", "黑色", "白色"} {
		ps = append(ps, search.Product{ID: "t" + string(rune('0'+i)), MerchantID: "m9", Title: c + "纯棉圆领T恤",
			Brand: "优衣库/UNIQLO", Category: "男装/T恤", PriceFen: int64(4900 + 1000*i), Sales: int64(10 * i)})
	}
	return ps
}

var shared struct {
	once sync.Once
	ix   *search.Index
	err  error
}

func index(t *testing.T) *search.Index {
	t.Helper()
	shared.once.Do(func() { shared.ix, shared.err = search.New(context.Background(), catalog(), search.WithLogger(quiet)) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.ix
}

// serve starts a real server with the handler mounted and returns clients
// speaking binary protobuf and JSON, and the base URL.
func serve(t *testing.T, h *Handler) (bin, js tidev1connect.SearchServiceClient, url string) {
	t.Helper()
	srv := serving.New(serving.WithLogger(quiet))
	srv.Mount(h.Mount(srv.ConnectOptions()...))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return tidev1connect.NewSearchServiceClient(ts.Client(), ts.URL),
		tidev1connect.NewSearchServiceClient(ts.Client(), ts.URL, connect.WithProtoJSON()), ts.URL
}

func codecs(t *testing.T) map[string]tidev1connect.SearchServiceClient {
	bin, js, _ := serve(t, NewHandler(index(t), WithLogger(quiet)))
	return map[string]tidev1connect.SearchServiceClient{"proto": bin, "json": js}
}

func find(t *testing.T, cl tidev1connect.SearchServiceClient, req *tidev1.SearchRequest) *tidev1.SearchResponse {
	t.Helper()
	res, err := cl.Search(t.Context(), connect.NewRequest(req))
	if err != nil {
		t.Fatalf("search %v: %v", req, err)
	}
	return res.Msg
}

func hitIDs(r *tidev1.SearchResponse) []string {
	var out []string
	for _, h := range r.GetHits() {
		out = append(out, h.GetProductId())
	}
	return out
}

func TestPinyinTypoAndHits(t *testing.T) {
	for name, cl := range codecs(t) {
		t.Run(name, func(t *testing.T) {
			for q, want := range map[string][]string{"lianyiqun": {"d1", "d2"}, "lyq": {"d1", "d2"}, "iphnoe": {"p1"}, "naike yundongxie": {"s1"}} {
				r := find(t, cl, &tidev1.SearchRequest{Query: q, PageSize: 3})
				if got := hitIDs(r); len(got) < len(want) || !slices.Equal(slices.Sorted(slices.Values(got[:len(want)])), want) {
					t.Errorf("%q: %v, want %v first", q, got, want)
				}
				if r.GetRequestId() == "" {
					t.Errorf("%q: no request_id", q)
				}
			}
			r := find(t, cl, &tidev1.SearchRequest{Query: "连衣裙", Facets: true, Sort: tidev1.SearchSort_SEARCH_SORT_SALES})
			if got := hitIDs(r); !slices.Equal(got, []string{"d1", "d2"}) || r.GetTotal() != 2 {
				t.Errorf("连衣裙 by sales: %v total %d", got, r.GetTotal())
			}
			h := r.GetHits()[0]
			if h.GetTitleHtml() != "法式碎花收腰<em>连衣裙</em>女夏" || h.GetBrand() != "伊芙丽" || h.GetCategory() != "女装/连衣裙" ||
				h.GetPriceFen() != 29900 || h.GetSales() != 900 || h.GetMerchantId() != "m1" || h.GetPosition() != 0 {
				t.Errorf("hit %v", h)
			}
			if c := r.GetFacets().GetCategories(); len(c) != 1 || c[0].GetValue() != "女装/连衣裙" || c[0].GetCount() != 2 {
				t.Errorf("category facet %v", c)
			}
			if len(r.GetFacets().GetPrices()) != 7 {
				t.Errorf("price facet %v", r.GetFacets().GetPrices())
			}
		})
	}
}

func TestInjectionIsLiteral(t *testing.T) {
	for name, cl := range codecs(t) {
		t.Run(name, func(t *testing.T) {
			for _, q := range []string{`title:foo OR *`, `+brand:耐克 -title:x`, `"连衣裙" AND /.*/`, `_id:d1`, `<床品>`} {
				r := find(t, cl, &tidev1.SearchRequest{Query: q})
				if r.GetTotal() >= int64(len(catalog())) {
					t.Errorf("%q matched all products: query syntax was interpreted", q)
				}
			}
			r := find(t, cl, &tidev1.SearchRequest{Query: "<床品>"})
			if len(r.GetHits()) == 0 || !strings.Contains(r.GetHits()[0].GetTitleHtml(), "&lt;<em>床品</em>&gt;") || strings.Contains(r.GetHits()[0].GetTitleHtml(), "<床") {
				t.Errorf("markup in a title must come back escaped: %v", r.GetHits())
			}
			_, err := cl.Search(t.Context(), connect.NewRequest(&tidev1.SearchRequest{Query: "*:* ( )"}))
			wantInvalid(t, err, "no searchable words")
		})
	}
}

func TestBadRequests(t *testing.T) {
	for name, cl := range codecs(t) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				req  *tidev1.SearchRequest
				want string
			}{
				{&tidev1.SearchRequest{Query: "  "}, "query text is empty"},
				{&tidev1.SearchRequest{Query: strings.Repeat("裙", 101)}, "at most 100"},
				{&tidev1.SearchRequest{Query: "裙", Filters: &tidev1.SearchFilters{MinPriceFen: 500, MaxPriceFen: 100}}, "min price 500 above max price 100"},
				{&tidev1.SearchRequest{Query: "裙", Filters: &tidev1.SearchFilters{MinPriceFen: -1}}, "negative price"},
				{&tidev1.SearchRequest{Query: "裙", Filters: &tidev1.SearchFilters{Brands: make([]string, 51)}}, "at most 50"},
				{&tidev1.SearchRequest{Query: "裙", Filters: &tidev1.SearchFilters{CategoryPrefix: strings.Repeat("女", 101)}}, "filter value too long"},
				{&tidev1.SearchRequest{Query: "裙", PageSize: 101}, "page_size 101"},
				{&tidev1.SearchRequest{Query: "裙", Offset: 995, PageSize: 10}, "past 1000"},
				{&tidev1.SearchRequest{Query: "裙", PageToken: "bm9wZQ"}, "page_token is malformed"},
				{&tidev1.SearchRequest{Query: "裙", Sort: tidev1.SearchSort(42)}, "unknown sort"},
			} {
				_, err := cl.Search(t.Context(), connect.NewRequest(tc.req))
				wantInvalid(t, err, tc.want)
			}
			_, err := cl.Suggest(t.Context(), connect.NewRequest(&tidev1.SuggestRequest{Prefix: " "}))
			wantInvalid(t, err, "prefix is empty")
		})
	}
}

func wantInvalid(t *testing.T, err error, msg string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeInvalidArgument || !strings.Contains(ce.Message(), msg) {
		t.Errorf("err %v, want invalid_argument saying %q", err, msg)
	}
}

func TestPaging(t *testing.T) {
	cl := codecs(t)["json"]
	req := &tidev1.SearchRequest{Query: "T恤", PageSize: 3, Sort: tidev1.SearchSort_SEARCH_SORT_PRICE_ASC}
	var all []string
	for page := 0; ; page++ {
		r := find(t, cl, req)
		for i, h := range r.GetHits() {
			if int(h.GetPosition()) != len(all)+i {
				t.Errorf("page %d hit %d at position %d", page, i, h.GetPosition())
			}
		}
		all = append(all, hitIDs(r)...)
		if r.GetNextPageToken() == "" {
			break
		}
		req.PageToken = r.GetNextPageToken()
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if want := []string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"}; !slices.Equal(all, want) {
		t.Errorf("pages %v, want %v", all, want)
	}
	first := find(t, cl, &tidev1.SearchRequest{Query: "T恤", PageSize: 3})
	_, err := cl.Search(t.Context(), connect.NewRequest(&tidev1.SearchRequest{Query: "连衣裙", PageToken: first.GetNextPageToken()}))
	wantInvalid(t, err, "belongs to another search")
}

func TestSuggestPinyinInitials(t *testing.T) {
	for name, cl := range codecs(t) {
		t.Run(name, func(t *testing.T) {
			for prefix, want := range map[string]string{"lyq": "连衣裙", "ydx": "运动鞋", "lianyi": "连衣裙", "连衣": "连衣裙"} {
				res, err := cl.Suggest(t.Context(), connect.NewRequest(&tidev1.SuggestRequest{Prefix: prefix, Limit: 5}))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(res.Msg.GetSuggestions(), func(s *tidev1.SearchSuggestion) bool { return s.GetText() == want }) {
					t.Errorf("suggest %q: %v, want %s", prefix, res.Msg.GetSuggestions(), want)
				}
			}
		})
	}
}

// The mini-program calls with wx.request: plain JSON over HTTP/1.1.
func TestPlainJSONOverHTTP(t *testing.T) {
	_, _, url := serve(t, NewHandler(index(t), WithLogger(quiet)))
	res, err := http.Post(url+tidev1connect.SearchServiceSearchProcedure, "application/json",
		strings.NewReader(`{"query":"lyq","pageSize":1,"filters":{"maxPriceFen":50000}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"productId":"d`) || !strings.Contains(string(body), `"requestId":"s`) {
		t.Errorf("%d %s", res.StatusCode, body)
	}
	res, err = http.Post(url+tidev1connect.SearchServiceSearchProcedure, "application/json", strings.NewReader(`{"query":""}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"code":"invalid_argument"`) {
		t.Errorf("empty query: %d %s", res.StatusCode, body)
	}
}

func TestSwapAndNotReady(t *testing.T) {
	h := NewHandler(nil, WithLogger(quiet))
	cl, _, _ := serve(t, h)
	_, err := cl.Search(t.Context(), connect.NewRequest(&tidev1.SearchRequest{Query: "连衣裙"}))
	if connect.CodeOf(err) != connect.CodeUnavailable || h.Ready(t.Context()) == nil {
		t.Fatalf("before an index: %v", err)
	}
	a, err := search.New(t.Context(), catalog()[:2], search.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if old := h.Swap(a); old != nil {
		t.Fatal("an index before the first swap")
	}
	if got := hitIDs(find(t, cl, &tidev1.SearchRequest{Query: "T恤"})); len(got) != 0 {
		t.Errorf("first index has no T恤: %v", got)
	}
	b, err := search.New(t.Context(), catalog(), search.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if old := h.Swap(b); old != a {
		t.Fatal("swap returned another index")
	}
	a.Close()
	if got := hitIDs(find(t, cl, &tidev1.SearchRequest{Query: "T恤", PageSize: 1})); len(got) != 1 || h.Ready(t.Context()) != nil {
		t.Errorf("after the swap: %v", got)
	}
	// An index closed without a replacement answers unavailable, not internal.
	c, err := search.New(t.Context(), catalog()[:1], search.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	h.Swap(c)
	c.Close()
	_, err = cl.Search(t.Context(), connect.NewRequest(&tidev1.SearchRequest{Query: "连衣裙"}))
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("closed index: %v", err)
	}
}
