package search

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// testCatalog is a small hand-written catalog covering the cases the tests
// check: dual brands, 苹果 the fruit and the brand, attribute lists,
// unbranded goods.
func testCatalog() []Product {
	ps := []Product{
		{ID: "d1", MerchantID: "m1", Title: "法式碎花收腰连衣裙女夏", Brand: "伊芙丽", Category: "女装/连衣裙", PriceFen: 29900, Sales: 900,
			Attrs: Attrs{"颜色": {"黑色", "白色"}, "尺码": {"S", "M", "L"}}},
		{ID: "d2", MerchantID: "m1", Title: "气质长袖连衣裙", Brand: "无品牌", Category: "女装/连衣裙", PriceFen: 15900, Sales: 120,
			Attrs: Attrs{"颜色": {"红色"}}, LiveNow: true},
		{ID: "d3", MerchantID: "m2", Title: "高腰百褶半身裙", Brand: "太平鸟", Category: "女装/半身裙", PriceFen: 19900, Sales: 300,
			Attrs: Attrs{"颜色": {"黑色"}}},
		{ID: "s1", MerchantID: "m3", Title: "Nike耐克 Air 气垫男子运动鞋", Brand: "耐克/Nike", Category: "鞋靴/运动鞋", PriceFen: 89900, Sales: 5000,
			Attrs: Attrs{"颜色": {"黑色", "白色"}, "尺码": {"41", "42", "43"}}},
		{ID: "s2", MerchantID: "m3", Title: "阿迪达斯 Ultraboost 跑步鞋", Brand: "阿迪达斯/Adidas", Category: "鞋靴/跑步鞋", PriceFen: 99900, Sales: 2000,
			Attrs: Attrs{"颜色": {"白色"}}},
		{ID: "p1", MerchantID: "m4", Title: "Apple iPhone 15 Pro 256GB 5G手机", Brand: "苹果/Apple", Category: "数码/手机", PriceFen: 799900, Sales: 8000,
			Attrs: Attrs{"存储容量": {"256GB", "512GB"}, "型号": {"iPhone 15 Pro"}}},
		{ID: "p2", MerchantID: "m4", Title: "华为 Mate 60 Pro 智能手机", Brand: "华为/HUAWEI", Category: "数码/手机", PriceFen: 699900, Sales: 6000,
			Attrs: Attrs{"存储容量": {"512GB"}}},
		{ID: "f1", MerchantID: "m5", Title: "烟台红富士苹果 5斤装 新鲜水果", Brand: "无品牌", Category: "食品/水果", PriceFen: 3990, Sales: 7000,
			Attrs: Attrs{"产地": {"山东烟台"}}},
		{ID: "f2", MerchantID: "m5", Title: "三只松鼠每日坚果750g", Brand: "三只松鼠", Category: "食品/坚果", PriceFen: 12900, Sales: 3000,
			Attrs: Attrs{"口味": {"原味"}}},
		{ID: "b1", MerchantID: "m6", Title: "帮宝适超薄干爽纸尿裤 L码", Brand: "帮宝适/Pampers", Category: "母婴/纸尿裤", PriceFen: 15900, Sales: 2500,
			Attrs: Attrs{"尺码": {"L", "XL"}}},
		{ID: "c1", MerchantID: "m7", Title: "雅诗兰黛小棕瓶精华液 50ml", Brand: "雅诗兰黛/Estee Lauder", Category: "护肤/精华液", PriceFen: 69000, Sales: 4000,
			Attrs: Attrs{"功效": {"修护", "抗老"}}},
		{ID: "h1", MerchantID: "m8", Title: "纯棉四件套 <床品> 1.8m床", Brand: "水星家纺", Category: "家居/四件套", PriceFen: 39900, Sales: 800,
			Attrs: Attrs{"材质": {"纯棉"}}},
	}
	// Filler so facets, pagination and ranking have something to chew on.
	colors := []string{"黑色", "白色", "灰色"}
	for i := 0; i < 24; i++ {
		ps = append(ps, Product{ID: fmt.Sprintf("t%02d", i), MerchantID: "m9", Title: fmt.Sprintf("%s纯棉圆领T恤 款%d", colors[i%3], i),
			Brand: "优衣库/UNIQLO", Category: "男装/T恤", PriceFen: int64(4900 + 1000*i), Sales: int64(10 * i), Attrs: Attrs{"颜色": {colors[i%3]}}})
	}
	return ps
}

var shared struct {
	once sync.Once
	ix   *Index
	err  error
}

// sharedIndex is built once per test binary (loading the dictionary takes
// about a second) and used by read-only tests.
func sharedIndex(t *testing.T) *Index {
	t.Helper()
	shared.once.Do(func() { shared.ix, shared.err = New(context.Background(), testCatalog()) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.ix
}

func search(t *testing.T, ix *Index, req Request) *Response {
	t.Helper()
	resp, err := ix.Search(context.Background(), req)
	if err != nil {
		t.Fatalf("search %+v: %v", req, err)
	}
	return resp
}

func ids(resp *Response) []string {
	out := make([]string, len(resp.Hits))
	for i, h := range resp.Hits {
		out[i] = h.Product.ID
	}
	return out
}

func top(t *testing.T, ix *Index, text string) string {
	t.Helper()
	resp := search(t, ix, Request{Text: text})
	if len(resp.Hits) == 0 {
		t.Fatalf("%q: no results", text)
	}
	return resp.Hits[0].Product.ID
}
