package search

import (
	"fmt"
	"strings"
	"time"
)

// Limits on a request.
const (
	MaxQueryRunes = 100  // longer text is rejected
	DefaultLimit  = 20   // page size when Limit is 0
	MaxLimit      = 100  // largest page
	MaxDepth      = 1000 // Offset+Limit may not exceed this
)

// Sort orders results.
type Sort string

// Sort orders. The zero value is SortRelevance.
const (
	SortRelevance Sort = ""           // text relevance blended with business signals
	SortSales     Sort = "sales"      // best sellers first
	SortPriceAsc  Sort = "price_asc"  // cheapest first
	SortPriceDesc Sort = "price_desc" // dearest first
	SortNewest    Sort = "newest"     // most recently listed first
)

// Request is one search. Zero values mean "no filter", relevance order,
// first page of DefaultLimit, no facets.
type Request struct {
	Text    string
	Filters Filters
	Sort    Sort
	Offset  int
	Limit   int
	Facets  bool // also count categories, brands and price buckets
}

// Filters narrow a search. MerchantID is a tenancy scope: relaxation never
// drops it.
type Filters struct {
	CategoryPrefix string   // "女装" or "女装/连衣裙"
	Brands         []string // any of these; either name of a dual brand works
	MinPriceFen    int64    // inclusive; 0 = no lower bound
	MaxPriceFen    int64    // inclusive; 0 = no upper bound
	MerchantID     string
	LiveOnly       bool // only products in a live room now
}

func (f Filters) narrowing() bool {
	return f.CategoryPrefix != "" || len(f.Brands) > 0 || f.MinPriceFen > 0 || f.MaxPriceFen > 0 || f.LiveOnly
}

// Response is a page of results.
type Response struct {
	Total   uint64   // matches for the (possibly relaxed) query
	Hits    []Hit    // this page
	Facets  *Facets  // when requested
	Words   []string // the query words searched for (normalised)
	Relaxed []string // relaxation steps applied to avoid zero results, in order
	Took    time.Duration
}

// Hit is one result.
type Hit struct {
	Product Product
	Score   float64 // blended score (relevance order), else text score
	// TitleHTML is the title, HTML-escaped, with matched parts in <em>.
	TitleHTML string
}

// Facets are counts over all matches of the query.
type Facets struct {
	Categories []FacetCount  // full category paths, most frequent first
	Brands     []FacetCount  // brands as written in the catalog
	Prices     []PriceBucket // fixed buckets, in price order
}

// FacetCount is a value and how many matches have it.
type FacetCount struct {
	Value string
	Count int
}

// PriceBucket counts matches whose price is in [MinFen, MaxFen) (MaxFen 0 =
// no upper bound).
type PriceBucket struct {
	Name           string
	MinFen, MaxFen int64
	Count          int
}

// Relaxation steps reported in Response.Relaxed.
const (
	RelaxAnyWord   = "any_word"        // not every word had to match
	RelaxBackfill  = "backfill"        // too few all-word matches: any-word matches follow them
	RelaxFuzzy     = "fuzzy"           // character-overlap and wider typo matching
	RelaxNoFilters = "filters_dropped" // filters other than the merchant dropped
)

// normalized validates r and fills defaults. Errors wrap ErrInvalidQuery.
func (r Request) normalized() (Request, error) {
	r.Text = strings.TrimSpace(r.Text)
	switch {
	case r.Text == "":
		return r, fmt.Errorf("%w: query text is empty", ErrInvalidQuery)
	case runeLen(r.Text) > MaxQueryRunes:
		return r, fmt.Errorf("%w: query text is %d characters, at most %d allowed", ErrInvalidQuery, runeLen(r.Text), MaxQueryRunes)
	case r.Offset < 0:
		return r, fmt.Errorf("%w: offset %d is negative", ErrInvalidQuery, r.Offset)
	case r.Limit < 0 || r.Limit > MaxLimit:
		return r, fmt.Errorf("%w: limit %d outside 0..%d", ErrInvalidQuery, r.Limit, MaxLimit)
	}
	if r.Limit == 0 {
		r.Limit = DefaultLimit
	}
	if r.Offset+r.Limit > MaxDepth {
		return r, fmt.Errorf("%w: offset+limit %d deeper than %d", ErrInvalidQuery, r.Offset+r.Limit, MaxDepth)
	}
	switch r.Sort {
	case SortRelevance, SortSales, SortPriceAsc, SortPriceDesc, SortNewest:
	default:
		return r, fmt.Errorf("%w: unknown sort %q", ErrInvalidQuery, r.Sort)
	}
	f := &r.Filters
	switch {
	case f.MinPriceFen < 0 || f.MaxPriceFen < 0:
		return r, fmt.Errorf("%w: negative price bound", ErrInvalidQuery)
	case f.MaxPriceFen > 0 && f.MinPriceFen > f.MaxPriceFen:
		return r, fmt.Errorf("%w: min price %d above max price %d", ErrInvalidQuery, f.MinPriceFen, f.MaxPriceFen)
	case runeLen(f.CategoryPrefix) > MaxQueryRunes || runeLen(f.MerchantID) > MaxQueryRunes:
		return r, fmt.Errorf("%w: filter value too long", ErrInvalidQuery)
	case len(f.Brands) > 50:
		return r, fmt.Errorf("%w: %d brands in filter, at most 50", ErrInvalidQuery, len(f.Brands))
	}
	f.CategoryPrefix = strings.Trim(strings.TrimSpace(f.CategoryPrefix), "/")
	brands := f.Brands[:0:0]
	for _, b := range f.Brands {
		if b = normalize(strings.TrimSpace(b)); b != "" {
			brands = append(brands, b)
		}
	}
	f.Brands = brands
	return r, nil
}
