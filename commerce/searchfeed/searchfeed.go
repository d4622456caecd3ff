// Package searchfeed adapts the catalog to the search index: it turns
// catalog products into search.Product documents and serves them to
// search/follow (Products, for product-changed events) and to full rebuilds
// (All). Only on-shelf products are searchable; an off-shelf or deleted
// product is simply not returned, which tells the follower to drop it.
package searchfeed

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/search"
)

// Catalog is what the feed reads; commerce/postgres.Store implements it.
type Catalog interface {
	Products(ctx context.Context, ids []string) ([]commerce.Product, error)
	EachProduct(ctx context.Context, onShelfOnly bool, f func(commerce.Product) error) error
}

// Feed serves catalog products as search documents.
type Feed struct{ cat Catalog }

// New returns a Feed over cat.
func New(cat Catalog) *Feed { return &Feed{cat: cat} }

// Products returns the searchable (on-shelf) products among ids.
func (f *Feed) Products(ctx context.Context, ids []string) ([]search.Product, error) {
	ps, err := f.cat.Products(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("search feed: %w", err)
	}
	out := make([]search.Product, 0, len(ps))
	for _, p := range ps {
		if p.Status == commerce.OnShelf {
			out = append(out, Document(p))
		}
	}
	return out, nil
}

// All returns every searchable product, from one consistent snapshot.
func (f *Feed) All(ctx context.Context) ([]search.Product, error) {
	var out []search.Product
	err := f.cat.EachProduct(ctx, true, func(p commerce.Product) error {
		out = append(out, Document(p))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search feed: %w", err)
	}
	return out, nil
}

// Document is the search document of a catalog product; ListedAt falls
// back to when the catalog first saw it. LiveNow is left false: live rooms
// set it on the index directly.
func Document(p commerce.Product) search.Product {
	var attrs search.Attrs
	if len(p.Attrs) > 0 {
		attrs = make(search.Attrs, len(p.Attrs))
		for _, k := range slices.Sorted(maps.Keys(p.Attrs)) {
			attrs[k] = slices.Clone(p.Attrs[k])
		}
	}
	listed := p.ListedAt
	if listed.IsZero() {
		listed = p.CreatedAt
	}
	return search.Product{
		ID: p.ID, MerchantID: p.MerchantID, Title: p.Title, Brand: p.Brand, Category: p.Category,
		PriceFen: p.PriceFen, Sales: p.Sales, Description: p.Description, Attrs: attrs,
		ListedAt: listed,
	}
}
