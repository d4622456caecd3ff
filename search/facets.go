package search

import (
	"sort"
)

// facetSize is how many categories and brands a facet lists at most.
const facetSize = 30

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

// facetCounter counts categories, brands and price buckets of matches from
// the doc table's columns.
type facetCounter struct {
	t      *docTable
	cats   []int // by cat id
	brands []int // by brand id
	prices [8]int
}

func newFacetCounter(t *docTable) *facetCounter {
	return &facetCounter{t: t, cats: make([]int, len(t.cats.vals)), brands: make([]int, len(t.brands.vals))}
}

func (f *facetCounter) add(ord uint32) {
	f.cats[f.t.cat[ord]]++
	f.brands[f.t.brand[ord]]++
	f.prices[priceBucket(f.t.price[ord])]++
}

// priceBucket is the index of the bucket holding price.
func priceBucket(fen int64) int {
	for i := len(priceBuckets) - 1; i > 0; i-- {
		if fen >= priceBuckets[i].MinFen {
			return i
		}
	}
	return 0
}

func (f *facetCounter) facets() *Facets {
	out := &Facets{
		Categories: topCounts(f.cats, f.t.cats.vals),
		Brands:     topCounts(f.brands, f.t.brands.vals),
	}
	for i, b := range priceBuckets {
		b.Count = f.prices[i]
		out.Prices = append(out.Prices, b)
	}
	return out
}

// topCounts lists the facetSize most frequent non-empty values, most
// frequent first, ties by value.
func topCounts(counts []int, vals []string) []FacetCount {
	var out []FacetCount
	for id, n := range counts {
		if n > 0 && id != 0 {
			out = append(out, FacetCount{Value: vals[id], Count: n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Value < out[j].Value
	})
	if len(out) > facetSize {
		out = out[:facetSize]
	}
	return out
}
