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

// rerankInto is the two-stage scoring of the caller's own candidates (the
// feed's bounded set): the blend (without its trend) picks the best
// Rerank.Candidates of them, the re-ranker orders those into (0.5, 1]
// (0.5 + 0.5/(1 + max s - s), which keeps far-apart scores apart) and the
// rest score in [0, 0.5) in blend order;
// unknown items score 0. A history with no known item scores as stage one.
func (m *Model) rerankInto(h History, candidates []ItemID, out []float64) {
	m.rerankScores(h, candidates, out, false)
}

// rerankScores is rerankInto; with raw, the re-ranked candidates keep the
// re-ranker's own scores s and the rest score below min s (for ScoreAll,
// whose float32 would round the served transform's close values together).
func (m *Model) rerankScores(h History, candidates []ItemID, out []float64, raw bool) {
	p := m.getParts()
	m.prepareParts(h, p)
	if len(p.items) == 0 { // nothing to re-rank on: stage one (popularity)
		m.releaseParts(p)
		m.WithRerank(nil).ScoreInto(h, candidates, out)
		return
	}
	n := ItemID(m.NumItems())
	ninf := float32(math.Inf(-1))
	p.blend = slices.Grow(p.blend[:0], len(candidates))[:len(candidates)]
	var bmax float32
	for j, c := range candidates {
		p.blend[j] = ninf
		if c >= 0 && c < n {
			p.blend[j] = m.stageOneNoTrend(p, c)
			bmax = max(bmax, p.blend[j])
		}
	}
	for j, c := range candidates {
		out[j] = 0
		if c >= 0 && c < n && bmax > 0 {
			out[j] = 0.5 * float64(max(p.blend[j], 0)/bmax) * 0.999
		}
	}
	p.heap = topKInto(p.blend, m.Config.Rerank.Candidates, p.heap) // indices into candidates
	top := p.heap
	mx, lo := math.Inf(-1), math.Inf(1)
	p.top = slices.Grow(p.top[:0], len(top))[:len(top)]
	for k, s := range top {
		m.candidateFeatures(p, candidates[s.Item], p.z)
		p.top[k] = m.Rerank.Score(p.z, p.rs(m.Rerank))
		mx, lo = max(mx, float64(p.top[k])), min(lo, float64(p.top[k]))
	}
	if raw {
		for j := range candidates {
			out[j] += lo - 1
		}
	}
	for k, s := range top {
		if raw {
			out[s.Item] = float64(p.top[k])
		} else {
			out[s.Item] = 0.5 + 0.5/(1+mx-float64(p.top[k]))
		}
	}
	m.releaseParts(p)
}

// rerankAll is rerankInto over every item not in h (the evaluated ranking
// is the served one over the whole catalogue); h's own items score -1.
func (m *Model) rerankAll(h History, out []float32) {
	n := m.NumItems()
	in := make([]bool, n)
	for _, e := range h {
		if e.Item >= 0 && int(e.Item) < n {
			in[e.Item] = true
		}
	}
	cands := make([]ItemID, 0, n)
	for c := range n {
		if !in[c] {
			cands = append(cands, ItemID(c))
		}
	}
	scores := make([]float64, len(cands))
	m.rerankScores(h, cands, scores, true)
	for c := range out[:n] {
		out[c] = -1
	}
	for j, c := range cands {
		out[c] = float32(scores[j])
	}
}

// rs returns p's re-ranker scratch for r.
func (p *parts) rs(r *rerank.Model) *rerank.Scratch {
	if p.rerank == nil {
		p.rerank = r.NewScratch()
	}
	return p.rerank
}
