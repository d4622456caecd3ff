package search

import (
	"sort"

	"github.com/blevesearch/bleve/v2"
)

// Facet names in a Bleve request.
const (
	facetCategory = "category"
	facetBrand    = "brand"
	facetPrice    = "price"
	facetSize     = 30
)

// priceBuckets are the price facet's ranges, in fen.
var priceBuckets = []PriceBucket{
	{Name: "0-50元", MinFen: 0, MaxFen: 5000},
	{Name: "50-100元", MinFen: 5000, MaxFen: 10000},
	{Name: "100-200元", MinFen: 10000, MaxFen: 20000},
	{Name: "200-500元", MinFen: 20000, MaxFen: 50000},
	{Name: "500-1000元", MinFen: 50000, MaxFen: 100000},
	{Name: "1000-3000元", MinFen: 100000, MaxFen: 300000},
	{Name: "3000元以上", MinFen: 300000},
}

func addFacetRequests(sr *bleve.SearchRequest) {
	sr.AddFacet(facetCategory, bleve.NewFacetRequest(fCatKW, facetSize))
	sr.AddFacet(facetBrand, bleve.NewFacetRequest(fBrandKW, facetSize))
	pf := bleve.NewFacetRequest(fPrice, len(priceBuckets))
	for _, b := range priceBuckets {
		lo := float64(b.MinFen)
		var hi *float64
		if b.MaxFen > 0 {
			v := float64(b.MaxFen)
			hi = &v
		}
		pf.AddNumericRange(b.Name, &lo, hi)
	}
	sr.AddFacet(facetPrice, pf)
}

func readFacets(res *bleve.SearchResult) *Facets {
	f := &Facets{}
	terms := func(name string) []FacetCount {
		fr, ok := res.Facets[name]
		if !ok || fr.Terms == nil {
			return nil
		}
		var out []FacetCount
		for _, t := range fr.Terms.Terms() {
			out = append(out, FacetCount{Value: t.Term, Count: t.Count})
		}
		sort.SliceStable(out, func(i, j int) bool {
			if out[i].Count != out[j].Count {
				return out[i].Count > out[j].Count
			}
			return out[i].Value < out[j].Value
		})
		return out
	}
	f.Categories = terms(facetCategory)
	f.Brands = terms(facetBrand)
	counts := map[string]int{}
	if fr, ok := res.Facets[facetPrice]; ok {
		for _, r := range fr.NumericRanges {
			counts[r.Name] = r.Count
		}
	}
	for _, b := range priceBuckets {
		b.Count = counts[b.Name]
		f.Prices = append(f.Prices, b)
	}
	return f
}
