package search

import (
	"context"
	"fmt"
	"os"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Baseline is a plain Bleve index for comparison: the standard analyzer
// (Unicode word segmentation: each Han character a token, no pinyin, no
// synonyms, no typo tolerance) over title, brand, category, attributes and
// description, queried with an OR match on each field.
type Baseline struct {
	dir string
	bl  bleve.Index
}

// NewBaseline indexes catalog into a temporary directory.
func NewBaseline(ctx context.Context, catalog []Product) (*Baseline, error) {
	dir, err := os.MkdirTemp("", "tide-search-baseline-*")
	if err != nil {
		return nil, err
	}
	im := mapping.NewIndexMapping()
	im.DefaultAnalyzer = standard.Name
	bl, err := bleve.NewUsing(dir+"/idx", im, scorch.Name, scorch.Name, map[string]any{"unsafe_batch": true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("baseline index: %w", err)
	}
	b := &Baseline{dir: dir, bl: bl}
	batch := bl.NewBatch()
	for i := range catalog {
		if err := ctx.Err(); err != nil {
			b.Close()
			return nil, err
		}
		p := &catalog[i]
		doc := map[string]any{"title": p.Title, "brand": p.Brand, "category": p.Category,
			"attrs": p.Attrs.Values(), "description": p.Description}
		if err := batch.Index(p.ID, doc); err != nil {
			b.Close()
			return nil, err
		}
		if batch.Size() >= 1000 || i == len(catalog)-1 {
			if err := bl.Batch(batch); err != nil {
				b.Close()
				return nil, err
			}
			batch.Reset()
		}
	}
	return b, nil
}

// Search returns the top k product ids for text.
func (b *Baseline) Search(ctx context.Context, text string, k int) ([]string, error) {
	var qs []query.Query
	for _, f := range []string{"title", "brand", "category", "attrs", "description"} {
		m := query.NewMatchQuery(text)
		m.SetField(f)
		qs = append(qs, m)
	}
	res, err := b.bl.SearchInContext(ctx, bleve.NewSearchRequestOptions(query.NewDisjunctionQuery(qs), k, 0, false))
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ID
	}
	return ids, nil
}

// Close removes the baseline index.
func (b *Baseline) Close() error {
	err := b.bl.Close()
	if rerr := os.RemoveAll(b.dir); err == nil {
		err = rerr
	}
	return err
}
