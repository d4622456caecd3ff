package ranker

import (
	"math"

	"github.com/tide-live/tide/ranker/mf"
	"github.com/tide-live/tide/ranker/rerank"
)

// NumFeatures is the length of a candidate's feature vector (see
// candidateFeatures): the re-ranker's input.
const NumFeatures = 12

// parts is per-call working memory holding each component's dense scores
// separately (the blend in scratch sums them into one array).
type parts struct {
	seq, co, last, lastCo []float32 // all zero between calls
	items                 []int32   // usable history items, newest first
	hw, ew                []float32 // their recency and event weights
	lastItems             []int32   // items at the history's latest time
	user                  []float32
	mfs                   *mf.Scratch
	useMF                 bool
	histLen               float32
	ref                   int64     // the history's latest time
	z                     []float32 // one feature vector
	blend, top            []float32 // stage-one and re-ranker scores
	heap                  []Scored
	rerank                *rerank.Scratch
}

func (m *Model) getParts() *parts {
	if p, ok := m.partsPool.Get().(*parts); ok {
		return p
	}
	n := m.NumItems()
	p := &parts{seq: make([]float32, n), co: make([]float32, n), last: make([]float32, n),
		lastCo: make([]float32, n), z: make([]float32, NumFeatures)}
	if m.MF != nil {
		p.user = make([]float32, m.MF.Factors)
		p.mfs = mf.NewScratch(m.MF.Factors)
	}
	return p
}

// prepareParts fills p from history h: each component's scores over the
// items its rows reach. There is no pass over the trend window: the
// re-ranker looks up each candidate's trend (Trend.at).
func (m *Model) prepareParts(h History, p *parts) {
	p.useMF = false
	var sum float64
	h, p.items, p.hw, p.ew, sum = m.weighHistory(h, p.items, p.hw, p.ew)
	p.lastItems = p.lastItems[:0]
	n := ItemID(m.NumItems())
	for i := len(h) - 1; i >= 0 && h[i].Time == h[len(h)-1].Time; i-- {
		if e := h[i]; e.Item >= 0 && e.Item < n {
			p.lastItems = append(p.lastItems, int32(e.Item))
		}
	}
	p.histLen = float32(math.Log1p(float64(len(p.items))))
	if len(p.items) == 0 {
		return
	}
	p.ref = h[len(h)-1].Time
	for j, it := range p.items {
		hw := p.hw[j] / float32(sum)
		m.NN.Seq.AddRow(it, hw, p.seq)
		m.NN.Co.AddRow(it, hw, p.co)
	}
	lw := 1 / float32(len(p.lastItems))
	for _, it := range p.lastItems {
		m.NN.Seq.AddRow(it, lw, p.last)
		m.NN.Co.AddRow(it, lw, p.lastCo)
	}
	if m.MF != nil {
		m.MF.FoldIn(p.items, p.ew, p.user, p.mfs)
		p.useMF = true
	}
}

// releaseParts zeroes what prepareParts touched and returns p to the pool.
func (m *Model) releaseParts(p *parts) {
	for _, it := range p.items {
		m.NN.Seq.ClearRow(it, p.seq)
		m.NN.Co.ClearRow(it, p.co)
	}
	for _, it := range p.lastItems {
		m.NN.Seq.ClearRow(it, p.last)
		m.NN.Co.ClearRow(it, p.lastCo)
	}
	m.partsPool.Put(p)
}

// stageOneNoTrend is the blend of item c without its trend: what the
// re-ranker's bounded path ranks the caller's candidates by (the trend is a
// pass over the window; the feed has its own heat and trend).
func (m *Model) stageOneNoTrend(p *parts, c ItemID) float32 {
	b := m.Config.Blend
	v := b.Seq*p.seq[c] + b.Co*p.co[c] + b.Pop*m.Pop[c]
	if p.useMF {
		v += b.MF * m.MF.Score(p.user, int32(c))
	}
	return v
}

// candidateFeatures writes item c's feature vector into z (len NumFeatures):
// the sequential, co-occurrence, factorisation and popularity scores, the
// transitions and co-occurrences from the latest basket alone, the blend
// without its trend, the history's length, log-scaled copies of the
// neighbour scores, the undecayed (whole-history) neighbour scores and how
// many history items lead to c.
func (m *Model) candidateFeatures(p *parts, c ItemID, z []float32) {
	var mfv float32
	if p.useMF {
		mfv = m.MF.Score(p.user, int32(c))
	}
	b := m.Config.Blend
	blend := b.Seq*p.seq[c] + b.Co*p.co[c] + b.Pop*m.Pop[c] + b.MF*mfv // stageOneNoTrend
	z[0], z[1], z[2], z[3] = p.seq[c], p.co[c], mfv, m.Pop[c]
	z[4], z[5], z[6], z[7] = p.last[c], p.lastCo[c], blend, p.histLen
	z[8] = float32(math.Log(1e-4 + float64(p.seq[c])))
	z[9] = float32(math.Log(1e-4 + float64(p.co[c])))
	z[10] = float32(math.Log(1e-4 + float64(p.last[c])))
	z[11] = 0
	if m.Trend != nil {
		z[11] = m.Trend.at(int32(c), p.ref)
	}
}
