package searchfeed_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/searchfeed"
)

type catalog []commerce.Product

func (c catalog) Products(_ context.Context, ids []string) ([]commerce.Product, error) {
	var out []commerce.Product
	for _, p := range c {
		for _, id := range ids {
			if p.ID == id {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func (c catalog) EachProduct(_ context.Context, onShelfOnly bool, f func(commerce.Product) error) error {
	for _, p := range c {
		if onShelfOnly && p.Status != commerce.OnShelf {
			continue
		}
		if err := f(p); err != nil {
			return err
		}
	}
	return nil
}

func TestFeed(t *testing.T) {
	created := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	listed := time.Date(2025, 1, 11, 14, 0, 0, 0, time.UTC)
	cat := catalog{
		{ID: "p1", MerchantID: "m01", Title: "碎花连衣裙", Brand: "无品牌", Category: "女装/连衣裙", PriceFen: 29900, Sales: 7,
			Attrs: commerce.Attrs{"颜色": {"黑色", "白色"}}, Status: commerce.OnShelf, CreatedAt: created},
		{ID: "p2", MerchantID: "m01", Title: "下架的裙子", PriceFen: 100, Status: commerce.OffShelf, CreatedAt: created},
		{ID: "p3", MerchantID: "m02", Title: "跑鞋", Brand: "耐克/Nike", PriceFen: 59900, Status: commerce.OnShelf, CreatedAt: created, ListedAt: listed},
	}
	f := searchfeed.New(cat)
	ps, err := f.Products(context.Background(), []string{"p1", "p2", "p9"})
	if err != nil || len(ps) != 1 || ps[0].ID != "p1" {
		t.Fatalf("Products = %+v, %v; want only the on-shelf p1", ps, err)
	}
	p := ps[0]
	if p.Title != "碎花连衣裙" || p.Category != "女装/连衣裙" || p.PriceFen != 29900 || p.Sales != 7 ||
		!reflect.DeepEqual([]string(p.Attrs["颜色"]), []string{"黑色", "白色"}) || !p.ListedAt.Equal(created) || len(p.BrandNames()) != 0 {
		t.Errorf("document = %+v", p)
	}
	all, err := f.All(context.Background())
	if err != nil || len(all) != 2 || all[1].ID != "p3" || !all[1].ListedAt.Equal(listed) || len(all[1].BrandNames()) != 2 {
		t.Errorf("All = %+v, %v", all, err)
	}
}
