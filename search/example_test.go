package search_test

import (
	"context"
	"fmt"

	"github.com/tide-live/tide/search"
)

// Search a catalog in Chinese, pinyin, initials or with a typo.
func ExampleIndex_Search() {
	ctx := context.Background()
	ix, err := search.New(ctx, []search.Product{
		{ID: "p1", Title: "法式碎花连衣裙", Brand: "伊芙丽", Category: "女装/连衣裙", PriceFen: 29900, Sales: 120,
			Attrs: search.Attrs{"颜色": {"黑色", "白色"}}},
		{ID: "p2", Title: "Apple iPhone 15 手机", Brand: "苹果/Apple", Category: "数码/手机", PriceFen: 599900, Sales: 800},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ix.Close()
	for _, q := range []string{"黑色连衣裙", "lianyiqun", "lyq", "iphnoe", "苹果手机"} {
		resp, err := ix.Search(ctx, search.Request{Text: q, Limit: 1})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(q, "→", resp.Hits[0].Product.ID, resp.Hits[0].TitleHTML)
	}
	// Output:
	// 黑色连衣裙 → p1 法式碎花<em>连衣裙</em>
	// lianyiqun → p1 法式碎花<em>连衣裙</em>
	// lyq → p1 法式碎花<em>连衣裙</em>
	// iphnoe → p2 Apple <em>iPhone</em> 15 手机
	// 苹果手机 → p2 Apple <em>iPhone</em> 15 手机
}
