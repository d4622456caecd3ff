package ranker

import (
	"context"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/tide-live/tide/ranker/mf"
)

// scratch is per-call working memory, pooled per model.
type scratch struct {
	acc   []float32 // dense neighbour scores, all zero between calls
	items []int32   // usable history items, oldest first
	hw    []float32 // their recency weights
	ew    []float32 // their event weights (for MF fold-in)
	user  []float32 // folded-in user vector
	cnt   []float32 // trend counts, all zero between calls
	tlo   int       // trend window added into acc
	thi   int
	mfs   *mf.Scratch
}

func (m *Model) getScratch() *scratch {
	if s, ok := m.scratch.Get().(*scratch); ok {
		return s
	}
	s := &scratch{acc: make([]float32, m.NumItems())}
	if m.Trend != nil {
		s.cnt = make([]float32, m.NumItems())
	}
	if m.MF != nil {
		s.user = make([]float32, m.MF.Factors)
		s.mfs = mf.NewScratch(m.MF.Factors)
	}
	return s
}

// prepare fills the scratch history weights from h, adds the neighbour
// scores into s.acc and folds in the user vector. It reports whether MF
// applies.
func (m *Model) prepare(h History, s *scratch) bool {
	s.tlo, s.thi = 0, 0
	var sum float64
	h, s.items, s.hw, s.ew, sum = m.weighHistory(h, s.items, s.hw, s.ew)
	if len(s.items) == 0 {
		return false
	}
	b := m.Config.Blend
	if m.Trend != nil && b.Trend != 0 {
		s.tlo, s.thi = m.Trend.window(h[len(h)-1].Time)
		m.Trend.add(s.tlo, s.thi, b.Trend, s.acc, s.cnt)
	}
	for j, it := range s.items {
		hw := s.hw[j] / float32(sum)
		if b.Seq != 0 {
			m.NN.Seq.AddRow(it, b.Seq*hw, s.acc)
		}
		if b.Co != 0 {
			m.NN.Co.AddRow(it, b.Co*hw, s.acc)
		}
	}
	if m.MF == nil || b.MF == 0 {
		return false
	}
	m.MF.FoldIn(s.items, s.ew, s.user, s.mfs)
	return true
}

// weighHistory caps h at History.MaxLen and appends its items the model
// knows, newest first, with their recency weights (times the event weight)
// and event weights to items, hw and ew; it returns the capped h, the
// slices and the sum of the recency weights.
func (m *Model) weighHistory(h History, items []int32, hw, ew []float32) (History, []int32, []float32, []float32, float64) {
	hc := m.Config.History
	if hc.MaxLen > 0 && len(h) > hc.MaxLen {
		h = h[len(h)-hc.MaxLen:]
	}
	items, hw, ew = items[:0], hw[:0], ew[:0]
	n := ItemID(m.NumItems())
	decay := hc.Decay
	if decay <= 0 {
		decay = 1
	}
	// walk newest to oldest assigning recency weights
	w, sum := 1.0, 0.0
	for i := len(h) - 1; i >= 0; i-- {
		e := h[i]
		if i < len(h)-1 && (!hc.DecayByTime || e.Time != h[i+1].Time) {
			w *= decay
		}
		if e.Item < 0 || e.Item >= n {
			continue // unknown to this model (e.g. newer than the artifact)
		}
		wt := e.Weight
		if wt == 0 {
			wt = 1
		}
		items = append(items, int32(e.Item))
		hw = append(hw, float32(w)*wt)
		ew = append(ew, wt)
		sum += w * float64(wt)
	}
	return h, items, hw, ew, sum
}

// release zeroes what prepare touched and returns s to the pool.
func (m *Model) release(s *scratch) {
	b := m.Config.Blend
	for _, it := range s.items {
		if b.Seq != 0 {
			m.NN.Seq.ClearRow(it, s.acc)
		}
		if b.Co != 0 {
			m.NN.Co.ClearRow(it, s.acc)
		}
	}
	if s.thi > s.tlo {
		m.Trend.clear(s.tlo, s.thi, s.acc)
	}
	m.scratch.Put(s)
}

// Score returns the score of each candidate for a user with history h
// (oldest first). Candidates the model does not know score 0. With a
// re-ranker the candidates are ordered by it (scores in (0,1]); the caller's
// candidate set is the bounded set it re-ranks. Scores only
// order candidates for one history; they are not probabilities.
func (m *Model) Score(ctx context.Context, h History, candidates []ItemID) []float64 {
	out := make([]float64, len(candidates))
	m.ScoreInto(h, candidates, out)
	return out
}

// ScoreInto is Score writing into out (len(out) >= len(candidates)); it does
// not allocate once the model's scratch pool is warm.
func (m *Model) ScoreInto(h History, candidates []ItemID, out []float64) {
	if m.Rerank != nil {
		m.rerankInto(h, candidates, out)
		return
	}
	s := m.getScratch()
	useMF := m.prepare(h, s)
	b := m.Config.Blend
	n := ItemID(m.NumItems())
	for j, c := range candidates {
		if c < 0 || c >= n {
			out[j] = 0
			continue
		}
		v := s.acc[c] + b.Pop*m.Pop[c]
		if useMF {
			v += b.MF * m.MF.Score(s.user, int32(c))
		}
		out[j] = float64(v)
	}
	m.release(s)
}

// ScoreAll writes the score of every item for history h into out
// (len(out) >= NumItems()). With a re-ranker it is the two-stage ranking:
// the re-ranked candidates first, then the rest in blend order.
func (m *Model) ScoreAll(h History, out []float32) {
	if m.Rerank != nil && m.Config.Rerank.Candidates > 0 {
		m.rerankAll(h, out)
		return
	}
	s := m.getScratch()
	useMF := m.prepare(h, s)
	b := m.Config.Blend
	out = out[:m.NumItems()]
	for c := range out {
		out[c] = s.acc[c] + b.Pop*m.Pop[c]
	}
	if useMF {
		items := blas32.General{Rows: len(out), Cols: m.MF.Factors, Stride: m.MF.Factors, Data: m.MF.Items}
		blas32.Gemv(blas.NoTrans, b.MF, items, blas32.Vector{N: m.MF.Factors, Inc: 1, Data: s.user}, 1,
			blas32.Vector{N: len(out), Inc: 1, Data: out})
	}
	m.release(s)
}

// Recommend returns the k best items for history h, best first, leaving out
// the history's own items and exclude.
func (m *Model) Recommend(ctx context.Context, h History, k int, exclude []ItemID) []Scored {
	scores := make([]float32, m.NumItems())
	m.ScoreAll(h, scores)
	ninf := float32(math.Inf(-1))
	for _, e := range h {
		if e.Item >= 0 && int(e.Item) < len(scores) {
			scores[e.Item] = ninf
		}
	}
	for _, e := range exclude {
		if e >= 0 && int(e) < len(scores) {
			scores[e] = ninf
		}
	}
	return TopK(scores, k)
}
