package search

import (
	"context"
	"fmt"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Search runs a request: validates it, searches all words, and when
// nothing matches relaxes step by step (any word → character overlap and
// wider typos → filters other than the merchant dropped), saying so in
// Response.Relaxed. Errors for bad requests wrap ErrInvalidQuery.
func (ix *Index) Search(ctx context.Context, req Request) (*Response, error) {
	start := time.Now()
	req, err := req.normalized()
	if err != nil {
		return nil, err
	}
	g, release, err := ix.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	b := g.newBuilder()
	defer b.close()
	words := b.queryWords(req.Text)
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: query %q has no searchable words", ErrInvalidQuery, req.Text)
	}
	type step struct {
		level        int
		merchantOnly bool
		name         string
	}
	steps := []step{{0, false, ""}}
	if len(words) > 1 {
		steps = append(steps, step{1, false, RelaxAnyWord})
	}
	steps = append(steps, step{2, false, RelaxFuzzy})
	if req.Filters.narrowing() {
		steps = append(steps, step{2, true, RelaxNoFilters})
	}
	resp := &Response{Words: words}
	for _, s := range steps {
		if s.name != "" {
			resp.Relaxed = append(resp.Relaxed, s.name)
		}
		q := b.query(words, req, s.level, s.merchantOnly)
		if err := g.run(ctx, q, req, resp); err != nil {
			return nil, err
		}
		if resp.Total == 0 {
			continue
		}
		if s.level == 0 && len(words) > 1 && resp.Total < uint64(req.Offset+req.Limit) {
			// A short page: fill it with any-word matches after the
			// all-word ones.
			if err := g.backfill(ctx, q, b.query(words, req, 1, s.merchantOnly), req, resp); err != nil {
				return nil, err
			}
		}
		break
	}
	if resp.Total > 0 {
		hl := g.highlighter(words)
		for i := range resp.Hits {
			resp.Hits[i].TitleHTML = hl.html(resp.Hits[i].Product.Title)
		}
	}
	resp.Took = time.Since(start)
	return resp, nil
}

// query combines the text query at a relaxation level with the filters.
func (g *builder) query(words []string, req Request, level int, merchantOnly bool) query.Query {
	q := g.textQuery(words, req.Text, level)
	if f := filterQuery(req.Filters, merchantOnly); f != nil {
		q = &query.BooleanQuery{Must: q, Filter: f}
	}
	return q
}

// backfill lists every match of the strict query, then matches of the wide
// one; resp.Total (strict) is below the requested depth, so the strict
// matches are few.
func (g *generation) backfill(ctx context.Context, strictQ, wideQ query.Query, req Request, resp *Response) error {
	strictReq := req
	strictReq.Offset, strictReq.Limit = 0, int(resp.Total)
	strict := &Response{}
	if err := g.run(ctx, strictQ, strictReq, strict); err != nil {
		return err
	}
	wideReq := req
	wideReq.Offset, wideReq.Limit = 0, req.Offset+req.Limit+len(strict.Hits)
	wide := &Response{}
	if err := g.run(ctx, wideQ, wideReq, wide); err != nil {
		return err
	}
	seen := make(map[string]bool, len(strict.Hits))
	all := strict.Hits
	for _, h := range strict.Hits {
		seen[h.Product.ID] = true
	}
	for _, h := range wide.Hits {
		if !seen[h.Product.ID] {
			all = append(all, h)
		}
	}
	resp.Hits = all[min(len(all), req.Offset):min(len(all), req.Offset+req.Limit)]
	resp.Total = wide.Total
	if wide.Facets != nil {
		resp.Facets = wide.Facets
	}
	resp.Relaxed = append(resp.Relaxed, RelaxBackfill)
	return nil
}

// run executes one query and fills resp's hits, total and facets.
func (g *generation) run(ctx context.Context, q query.Query, req Request, resp *Response) error {
	from, size := req.Offset, req.Limit
	win := max(1, g.weights.Window)
	if req.Sort == SortRelevance {
		// Fetch the whole re-rank blocks that cover the page.
		from = req.Offset / win * win
		size = (req.Offset+req.Limit+win-1)/win*win - from
	}
	sr := bleve.NewSearchRequestOptions(q, size, from, false)
	switch req.Sort {
	case SortRelevance:
		sr.SortBy([]string{"-_score"})
	case SortSales:
		sr.SortBy([]string{"-" + fSales})
	case SortPriceAsc:
		sr.SortBy([]string{fPrice})
	case SortPriceDesc:
		sr.SortBy([]string{"-" + fPrice})
	case SortNewest:
		sr.SortBy([]string{"-" + fListed})
	}
	if req.Sort != SortRelevance {
		sr.Score = "none" // ordered by a field: skip text scoring
	}
	if req.Facets {
		addFacetRequests(sr)
	}
	res, err := g.bl.SearchInContext(ctx, sr)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	resp.Total = res.Total
	hits := make([]Hit, 0, len(res.Hits))
	for _, h := range res.Hits {
		p := g.product(h.ID)
		if p == nil {
			continue // deleted while searching
		}
		hits = append(hits, Hit{Product: *p, Score: h.Score})
	}
	if req.Sort == SortRelevance {
		g.weights.blend(hits, g.salesNorm())
		lo := min(len(hits), req.Offset-from)
		hits = hits[lo:min(len(hits), lo+req.Limit)]
	}
	resp.Hits = hits
	if req.Facets {
		resp.Facets = readFacets(res)
	}
	return nil
}
