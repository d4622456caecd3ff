package search

import (
	"context"
	"fmt"
	"time"

	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
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
	b, err := g.newBuilder()
	if err != nil {
		return nil, err
	}
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
	queries := map[int]query.Query{}
	textQuery := func(level int) query.Query {
		if q, ok := queries[level]; ok {
			return q
		}
		q := b.textQuery(words, req.Text, level)
		queries[level] = q
		return q
	}
	for _, s := range steps {
		if s.name != "" {
			resp.Relaxed = append(resp.Relaxed, s.name)
		}
		q := textQuery(s.level)
		if err := g.run(ctx, b.reader, q, req, s.merchantOnly, resp); err != nil {
			return nil, err
		}
		if resp.Total == 0 {
			continue
		}
		if s.level == 0 && len(words) > 1 && resp.Total < uint64(req.Offset+req.Limit) {
			// A short page: fill it with any-word matches after the
			// all-word ones.
			if err := g.backfill(ctx, b.reader, q, textQuery(1), req, s.merchantOnly, resp); err != nil {
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

// backfill lists every match of the strict query, then matches of the wide
// one; resp.Total (strict) is below the requested depth, so the strict
// matches are few.
func (g *generation) backfill(ctx context.Context, reader index.IndexReader, strictQ, wideQ query.Query, req Request, merchantOnly bool, resp *Response) error {
	strictReq := req
	strictReq.Offset, strictReq.Limit = 0, int(resp.Total)
	strict := &Response{}
	if err := g.run(ctx, reader, strictQ, strictReq, merchantOnly, strict); err != nil {
		return err
	}
	wideReq := req
	wideReq.Offset, wideReq.Limit = 0, req.Offset+req.Limit+len(strict.Hits)
	wide := &Response{}
	if err := g.run(ctx, reader, wideQ, wideReq, merchantOnly, wide); err != nil {
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

// run executes one query over the reader's snapshot and fills resp's hits,
// total and facets; the filters (all of them, or with merchantOnly just the
// merchant) are checked against the doc table.
func (g *generation) run(ctx context.Context, reader index.IndexReader, q query.Query, req Request, merchantOnly bool, resp *Response) error {
	from, size := req.Offset, req.Limit
	win := max(1, g.weights.Window)
	if req.Sort == SortRelevance {
		// Fetch the whole re-rank blocks that cover the page.
		from = req.Offset / win * win
		size = (req.Offset+req.Limit+win-1)/win*win - from
	}
	g.pmu.RLock()
	defer g.pmu.RUnlock()
	df := g.docs.compileFilter(req.Filters, merchantOnly)
	c, err := g.collect(ctx, reader, q, req.Sort, &df, from+size, req.Facets)
	if err != nil {
		return err
	}
	resp.Total = c.total
	top := c.top[min(len(c.top), from):]
	hits := make([]Hit, 0, len(top))
	for _, r := range top {
		hits = append(hits, Hit{Product: *g.docs.prods[r.ord], Score: r.score})
	}
	if req.Sort == SortRelevance {
		g.weights.blend(hits, g.salesNorm())
		lo := min(len(hits), req.Offset-from)
		hits = hits[lo:min(len(hits), lo+req.Limit)]
	}
	resp.Hits = hits
	resp.Facets = c.facets
	return nil
}
