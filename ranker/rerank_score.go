package ranker

import (
	"math"
	"slices"

	"github.com/tide-live/tide/ranker/rerank"
)

// RerankConfig controls the learned second stage.
type RerankConfig struct {
	// Candidates is how many stage-one (blend) items the re-ranker orders
	// when the model ranks the whole catalogue (ScoreAll, Recommend); 0
	// disables the re-ranker.
	Candidates int
	// Targets is how many of each user's last interactions become
	// pseudo-targets (0 = 1).
	Targets int
	// MaxCases caps the pseudo-target lists Train fits the re-ranker on, so
	// its memory stays bounded as the log grows (0 = 50000).
	MaxCases int
	// MinCases is the fewest lists (held-out items found among the
	// candidates) worth fitting on (0 = 1000); with fewer, the model has no
	// re-ranker and scores with the blend alone.
	MinCases int
	// Fit trains the re-ranker.
	Fit rerank.Config
}

// rerankInto scores candidates with the re-ranker: exp(s - max s) over the
// candidates, so scores are in (0, 1] with 1 for the best; unknown items
// score 0. A history with no known item scores as stage one.
func (m *Model) rerankInto(h History, candidates []ItemID, out []float64) {
	p := m.getParts()
	m.prepareParts(h, p, false)
	if len(p.items) == 0 { // nothing to re-rank on: stage one (popularity)
		m.releaseParts(p)
		m.WithRerank(nil).ScoreInto(h, candidates, out)
		return
	}
	n := ItemID(m.NumItems())
	mx := math.Inf(-1)
	for j, c := range candidates {
		if c < 0 || c >= n {
			continue
		}
		m.candidateFeatures(p, c, p.z)
		out[j] = float64(m.Rerank.Score(p.z, p.rs(m.Rerank)))
		mx = max(mx, out[j])
	}
	for j, c := range candidates {
		if c < 0 || c >= n {
			out[j] = 0
			continue
		}
		out[j] = math.Exp(out[j] - mx)
	}
	m.releaseParts(p)
}

// rerankAll is the two-stage ranking of the whole catalogue: the blend
// picks Rerank.Candidates items not in h, the re-ranker orders them, and
// every other item scores below them in blend order.
func (m *Model) rerankAll(h History, out []float32) {
	p := m.getParts()
	m.prepareParts(h, p, true)
	if len(p.items) == 0 {
		m.releaseParts(p)
		m.WithRerank(nil).ScoreAll(h, out)
		return
	}
	n := m.NumItems()
	out = out[:n]
	p.blend = slices.Grow(p.blend[:0], n)[:n]
	for c := range n {
		p.blend[c] = m.stageOne(p, ItemID(c))
	}
	copy(out, p.blend)
	ninf := float32(math.Inf(-1))
	for _, e := range h {
		if e.Item >= 0 && int(e.Item) < n {
			p.blend[e.Item] = ninf
		}
	}
	top := TopK(p.blend, m.Config.Rerank.Candidates)
	lo := float32(math.Inf(1))
	p.top = slices.Grow(p.top[:0], len(top))[:len(top)]
	for j, s := range top {
		m.candidateFeatures(p, s.Item, p.z)
		p.top[j] = m.Rerank.Score(p.z, p.rs(m.Rerank))
		lo = min(lo, p.top[j])
	}
	// everything else: below the candidates, in blend order
	for c, v := range out {
		out[c] = lo - 2 + float32(1/(1+math.Exp(-float64(v))))
	}
	for j, s := range top {
		out[s.Item] = p.top[j]
	}
	m.releaseParts(p)
}

// rs returns p's re-ranker scratch for r.
func (p *parts) rs(r *rerank.Model) *rerank.Scratch {
	if p.rerank == nil {
		p.rerank = r.NewScratch()
	}
	return p.rerank
}
