package main

import (
	"context"
	"fmt"
	"os"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/tide-live/tide/search"
)

// rawIndex is the raw side of the comparison: a plain Bleve index of the
// same products with the default mapping (the standard analyzer on text:
// Unicode word segmentation, each Han character a token, no pinyin,
// synonyms or typo tolerance), except brand and category, which are keyword
// fields so that they can be faceted as the real index facets them.
type rawIndex struct {
	dir string
	bl  bleve.Index
}

// rawPriceBuckets mirror the real index's price facet, in fen.
var rawPriceBuckets = []struct {
	name     string
	min, max float64 // 0 max: open
}{
	{"0-50元", 0, 5000}, {"50-100元", 5000, 10000}, {"100-200元", 10000, 20000}, {"200-500元", 20000, 50000},
	{"500-1000元", 50000, 100000}, {"1000-3000元", 100000, 300000}, {"3000元以上", 300000, 0},
}

func newRawIndex(ctx context.Context, products []search.Product, progress func(done, total int)) (*rawIndex, error) {
	dir, err := os.MkdirTemp("", "tide-bench-search-raw-*")
	if err != nil {
		return nil, err
	}
	im := bleve.NewIndexMapping()
	kw := mapping.NewTextFieldMapping()
	kw.Analyzer = keyword.Name
	doc := bleve.NewDocumentMapping()
	doc.AddFieldMappingsAt("brand", kw)
	doc.AddFieldMappingsAt("category", kw)
	im.DefaultMapping = doc
	bl, err := bleve.NewUsing(dir+"/idx", im, scorch.Name, scorch.Name, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("raw bleve index: %w", err)
	}
	r := &rawIndex{dir: dir, bl: bl}
	batch := bl.NewBatch()
	for i := range products {
		if err := ctx.Err(); err != nil {
			r.close()
			return nil, err
		}
		p := &products[i]
		if err := batch.Index(p.ID, map[string]any{"title": p.Title, "brand": p.Brand, "category": p.Category,
			"attrs": p.Attrs.Values(), "description": p.Description, "price_fen": float64(p.PriceFen),
			"sales": float64(p.Sales)}); err != nil {
			r.close()
			return nil, err
		}
		if batch.Size() >= 1000 || i == len(products)-1 {
			if err := bl.Batch(batch); err != nil {
				r.close()
				return nil, fmt.Errorf("raw bleve index: %w", err)
			}
			batch.Reset()
			progress(i+1, len(products))
		}
	}
	return r, nil
}

// search runs text as a match query over every text field (top 20); faceted
// adds the real query's three facets (category, brand, price buckets) and
// sorts by sales, descending.
func (r *rawIndex) search(ctx context.Context, text string, faceted bool) error {
	var qs []query.Query
	for _, f := range []string{"title", "brand", "category", "attrs", "description"} {
		m := query.NewMatchQuery(text)
		m.SetField(f)
		qs = append(qs, m)
	}
	req := bleve.NewSearchRequestOptions(query.NewDisjunctionQuery(qs), 20, 0, false)
	if faceted {
		req.AddFacet("category", bleve.NewFacetRequest("category", 30))
		req.AddFacet("brand", bleve.NewFacetRequest("brand", 30))
		price := bleve.NewFacetRequest("price_fen", len(rawPriceBuckets))
		for _, b := range rawPriceBuckets {
			lo, hi := &b.min, &b.max
			if b.max == 0 {
				hi = nil
			}
			price.AddNumericRange(b.name, lo, hi)
		}
		req.AddFacet("price", price)
		req.SortBy([]string{"-sales"})
	}
	_, err := r.bl.SearchInContext(ctx, req)
	return err
}

func (r *rawIndex) close() {
	r.bl.Close()
	os.RemoveAll(r.dir)
}
