package search

import (
	"math"
	"sort"
)

// RankWeights tune how relevance order blends text relevance with business
// signals. For each of the top text matches the blended score is
//
//	text × (1 + Sales·log1p(sales)/log1p(maxSales) + Live·liveNow)
//
// where text is Bleve's score (TF-IDF over the boosted fields), maxSales is
// the catalog's best seller and liveNow is 1 for a product in a live room
// now. The blend is multiplicative, so it is independent of the text score's
// scale: with Sales 0.15 a best seller beats an unsold product only when its
// text score is at least 1/1.15 of the other's.
//
// Re-ranking happens within consecutive blocks of Window text-ranked hits, so
// a page's contents never depend on how deep the client paged.
type RankWeights struct {
	Sales  float64
	Live   float64
	Window int
}

// DefaultRankWeights are the production weights.
func DefaultRankWeights() RankWeights {
	return RankWeights{Sales: 0.15, Live: 0.1, Window: 50}
}

// blend re-scores hits in place and re-sorts each block of w.Window.
func (w RankWeights) blend(hits []Hit, salesNorm float64) {
	for i := range hits {
		p := &hits[i].Product
		f := 1 + w.Sales*math.Log1p(float64(max(0, p.Sales)))/salesNorm
		if p.LiveNow {
			f += w.Live
		}
		hits[i].Score *= f
	}
	win := max(1, w.Window)
	for from := 0; from < len(hits); from += win {
		block := hits[from:min(len(hits), from+win)]
		sort.SliceStable(block, func(i, j int) bool {
			if block[i].Score != block[j].Score {
				return block[i].Score > block[j].Score
			}
			return block[i].Product.ID < block[j].Product.ID
		})
	}
}
