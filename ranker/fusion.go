package ranker

import "math"

// Part names one component of the blend; it indexes Blend.Norm and
// Blend.Rank.
type Part int

// The blend's parts, in Blend's field order.
const (
	PartSeq Part = iota
	PartCo
	PartEASE
	PartTrans
	PartMF
	PartTrend
	PartPop
	NumParts
)

// Score fusion. Besides its raw weight, each part can enter the score
// through two per-history transforms of its scores over the items outside
// the history:
//
//	Norm[p] · s_p(c) / max s_p      (the part's scores scaled to a best of 1)
//	Rank[p] / (RankOffset + r_p(c)) (r_p(c) the 0-based rank of c by s_p,
//	                                 for the RankDepth best items with s_p > 0)
//
// They make parts whose scales differ from user to user comparable, the
// way reciprocal-rank fusion does.
const (
	RankDepth  = 50
	RankOffset = 5
)

// RankFeature is the rank transform's value at 0-based rank r.
func RankFeature(r int) float32 { return 1 / float32(RankOffset+r) }

// Raw returns the raw weight of part p.
func (b *Blend) Raw(p Part) *float32 {
	switch p {
	case PartSeq:
		return &b.Seq
	case PartCo:
		return &b.Co
	case PartEASE:
		return &b.EASE
	case PartTrans:
		return &b.Trans
	case PartMF:
		return &b.MF
	case PartTrend:
		return &b.Trend
	case PartPop:
		return &b.Pop
	}
	panic("ranker: no such part")
}

// fused reports whether any Norm or Rank weight is set.
func (b *Blend) fused() bool {
	for p := range NumParts {
		if b.Norm[p] != 0 || b.Rank[p] != 0 {
			return true
		}
	}
	return false
}

// Only returns the blend of part p alone at weight 1.
func Only(p Part) Blend {
	var b Blend
	*b.Raw(p) = 1
	return b
}

// PartTransforms computes the fusion transforms of one part's dense scores
// s for history h: the inverse of the best score outside h (0 when it is
// not positive) and the RankDepth best items outside h with a positive
// score, best first (written into top's storage). masked is scratch of
// len(s); it is left holding s with h's items at -Inf.
func PartTransforms(s []float32, h History, masked []float32, top []Scored) (invMax float32, best []Scored) {
	copy(masked, s)
	ninf := float32(math.Inf(-1))
	for _, e := range h {
		if e.Item >= 0 && int(e.Item) < len(masked) {
			masked[e.Item] = ninf
		}
	}
	best = TopKInto(masked, RankDepth, top)
	for i, x := range best {
		if x.Score <= 0 {
			best = best[:i]
			break
		}
	}
	if len(best) > 0 {
		invMax = 1 / best[0].Score
	}
	return invMax, best
}

// fusionScratch is the per-call memory of scoreFused.
type fusionScratch struct {
	part   []float32
	masked []float32
	all    []float32 // ScoreInto's dense scores
	top    []Scored
}

func (m *Model) getFusion() *fusionScratch {
	if fs, ok := m.fusion.Get().(*fusionScratch); ok {
		return fs
	}
	n := m.NumItems()
	return &fusionScratch{part: make([]float32, n), masked: make([]float32, n), all: make([]float32, n), top: make([]Scored, 0, RankDepth)}
}

// scoreFused writes the fused score of every item into out.
func (m *Model) scoreFused(h History, out []float32) {
	b := m.Config.Blend
	fs := m.getFusion()
	clear(out)
	for p := range NumParts {
		raw, norm, rank := *b.Raw(p), b.Norm[p], b.Rank[p]
		if raw == 0 && norm == 0 && rank == 0 || !m.hasPart(p) {
			continue
		}
		single := *m
		single.Config.Blend = Only(p)
		single.scoreAll(h, fs.part)
		if norm != 0 || rank != 0 {
			inv, best := PartTransforms(fs.part, h, fs.masked, fs.top)
			for r, x := range best {
				out[x.Item] += rank * RankFeature(r)
			}
			norm *= inv
		}
		if w := raw + norm; w != 0 {
			for c, v := range fs.part {
				out[c] += w * v
			}
		}
	}
	m.fusion.Put(fs)
}

// hasPart reports whether the model has the trained part behind p.
func (m *Model) hasPart(p Part) bool {
	switch p {
	case PartEASE:
		return m.EASE != nil
	case PartTrans:
		return m.Trans != nil
	case PartMF:
		return m.MF != nil
	case PartTrend:
		return m.Trend != nil
	}
	return true
}
