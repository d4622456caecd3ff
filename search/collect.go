package search

import (
	"container/heap"
	"context"
	"fmt"
	"math"

	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// checkEvery is how many matches the collector takes between looks at the
// context.
const checkEvery = 1024

// collected is what one pass over a query's matches produced.
type collected struct {
	total  uint64
	top    []ranked // best first, at most the requested depth
	facets *Facets
}

// ranked is a match on the way to a page: its ordinal and sort key.
type ranked struct {
	ord   uint32
	key   float64 // bigger is better
	score float64 // text score (relevance order)
}

// collect runs q against the reader's snapshot, keeping the matches that
// pass the filter: it counts them, keeps the best depth by the request's
// order, and counts facets over all of them from the table's columns.
// The caller holds g.pmu for reading.
func (g *generation) collect(ctx context.Context, reader index.IndexReader, q query.Query, sort Sort, df *docFilter, depth int, facets bool) (*collected, error) {
	opts := bsearch.SearcherOptions{}
	if sort != SortRelevance {
		opts.Score = "none" // ordered by a column: skip text scoring
	}
	sctx := context.WithValue(ctx, bsearch.GetScoringModelCallbackKey,
		bsearch.GetScoringModelCallbackFn(func() string { return index.DefaultScoringModel }))
	s, err := q.Searcher(sctx, reader, g.bl.Mapping(), opts)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer s.Close()
	pool := &bsearch.SearchContext{
		DocumentMatchPool: bsearch.NewDocumentMatchPool(s.DocumentMatchPoolSize()+1, 0),
		IndexReader:       reader,
	}
	t := g.docs
	res, err := g.ords.resolver(reader, t)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := &collected{}
	var fc *facetCounter
	if facets {
		fc = newFacetCounter(t)
	}
	top := &topHeap{}
	keyOf := sortKey(t, sort)
	var seen uint64
	dm, err := s.Next(pool)
	for ; err == nil && dm != nil; dm, err = s.Next(pool) {
		if seen%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		seen++
		ord, ierr := res.ord(dm.IndexInternalID)
		score := dm.Score
		pool.DocumentMatchPool.Put(dm)
		if ierr != nil {
			return nil, fmt.Errorf("search: %w", ierr)
		}
		if ord == noOrd || t.prods[ord] == nil || !t.match(df, ord) {
			continue // deleted since the snapshot, or filtered out
		}
		out.total++
		if fc != nil {
			fc.add(ord)
		}
		r := ranked{ord: ord, key: score, score: score}
		if keyOf != nil {
			r.key = keyOf(ord)
		}
		if top.Len() < depth {
			heap.Push(top, r)
		} else if depth > 0 && top.worse((*top)[0], r) {
			(*top)[0] = r
			heap.Fix(top, 0)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out.top = make([]ranked, top.Len())
	for i := len(out.top) - 1; i >= 0; i-- {
		out.top[i] = heap.Pop(top).(ranked)
	}
	if fc != nil {
		out.facets = fc.facets()
	}
	return out, nil
}

// sortKey returns the key of a column order (bigger first), or nil for
// relevance.
func sortKey(t *docTable, s Sort) func(ord uint32) float64 {
	switch s {
	case SortSales:
		return func(ord uint32) float64 { return float64(t.sales[ord]) }
	case SortPriceAsc:
		return func(ord uint32) float64 { return -float64(t.price[ord]) }
	case SortPriceDesc:
		return func(ord uint32) float64 { return float64(t.price[ord]) }
	case SortNewest:
		return func(ord uint32) float64 {
			if t.listed[ord] == 0 {
				return math.Inf(-1) // unknown listing time last
			}
			return float64(t.listed[ord])
		}
	}
	return nil
}

// topHeap is a min-heap of the best matches so far: the root is the one
// to drop first. Ties go to the earlier ordinal (catalog order).
type topHeap []ranked

func (h topHeap) worse(a, b ranked) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.ord > b.ord
}

func (h topHeap) Len() int           { return len(h) }
func (h topHeap) Less(i, j int) bool { return h.worse(h[i], h[j]) }
func (h topHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *topHeap) Push(x any)        { *h = append(*h, x.(ranked)) }
func (h *topHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
