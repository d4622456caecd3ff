package ranker

import (
	"math"

	"github.com/tide-live/tide/ranker/mf"
	"github.com/tide-live/tide/ranker/rerank"
)

// NumFeatures is the length of a candidate's feature vector (see
// candidateFeatures): the re-ranker's input.
const NumFeatures = 15

// parts is per-call working memory holding each component's dense scores
// separately (the blend in scratch sums them into one array).
type parts struct {
	seq, co, last, lastCo, trend, cnt []float32 // all zero between calls
	seqAll, coAll, sup                []float32 // undecayed sums and support counts, zero between calls
	items                             []int32   // usable history items, newest first
	hw, ew                            []float32 // their recency and event weights
	lastItems                         []int32   // items at the history's latest time
	user                              []float32
	mfs                               *mf.Scratch
	useMF                             bool
	tlo, thi                          int
	histLen                           float32
	ref                               int64 // the history's latest time
	z                                 []float32 // one feature vector
	blend, top                        []float32 // ScoreAll's stage-one scores
	rerank                            *rerank.Scratch
}

func (m *Model) getParts() *parts {
	if p, ok := m.partsPool.Get().(*parts); ok {
		return p
	}
	n := m.NumItems()
	p := &parts{seq: make([]float32, n), co: make([]float32, n), last: make([]float32, n),
		lastCo: make([]float32, n), trend: make([]float32, n), cnt: make([]float32, n), z: make([]float32, NumFeatures),
		seqAll: make([]float32, n), coAll: make([]float32, n), sup: make([]float32, n)}
	if m.MF != nil {
		p.user = make([]float32, m.MF.Factors)
		p.mfs = mf.NewScratch(m.MF.Factors)
	}
	return p
}

// prepareParts fills p from history h: each component's scores over the
// items its rows reach. The trend (a pass over the training window) is
// computed only with withTrend, for the stage-one blend of the whole
// catalogue: the re-ranker's features do not use it, so a caller scoring its
// own bounded candidates (the feed) skips that pass.
func (m *Model) prepareParts(h History, p *parts, withTrend bool) {
	hc := m.Config.History
	if hc.MaxLen > 0 && len(h) > hc.MaxLen {
		h = h[len(h)-hc.MaxLen:]
	}
	p.items, p.hw, p.ew, p.lastItems = p.items[:0], p.hw[:0], p.ew[:0], p.lastItems[:0]
	p.tlo, p.thi, p.useMF = 0, 0, false
	n := ItemID(m.NumItems())
	decay := hc.Decay
	if decay <= 0 {
		decay = 1
	}
	w, sum := 1.0, 0.0
	for i := len(h) - 1; i >= 0; i-- {
		e := h[i]
		if i < len(h)-1 && (!hc.DecayByTime || e.Time != h[i+1].Time) {
			w *= decay
		}
		if e.Item < 0 || e.Item >= n {
			continue
		}
		ew := e.Weight
		if ew == 0 {
			ew = 1
		}
		if e.Time == h[len(h)-1].Time {
			p.lastItems = append(p.lastItems, int32(e.Item))
		}
		p.items = append(p.items, int32(e.Item))
		p.hw = append(p.hw, float32(w)*ew)
		p.ew = append(p.ew, ew)
		sum += w * float64(ew)
	}
	p.histLen = float32(math.Log1p(float64(len(p.items))))
	if len(p.items) == 0 {
		return
	}
	p.ref = h[len(h)-1].Time
	if withTrend && m.Trend != nil && m.Config.Blend.Trend != 0 {
		p.tlo, p.thi = m.Trend.window(h[len(h)-1].Time)
		m.Trend.add(p.tlo, p.thi, 1, p.trend, p.cnt)
	}
	uw := 1 / float32(len(p.items))
	for j, it := range p.items {
		hw := p.hw[j] / float32(sum)
		m.NN.Seq.AddRow(it, hw, p.seq)
		m.NN.Co.AddRow(it, hw, p.co)
		m.NN.Seq.AddRow(it, uw, p.seqAll)
		m.NN.Co.AddRow(it, uw, p.coAll)
		nbr, _ := m.NN.Seq.Row(it)
		for _, b := range nbr {
			p.sup[b]++
		}
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
		m.NN.Seq.ClearRow(it, p.seqAll)
		m.NN.Co.ClearRow(it, p.coAll)
		m.NN.Seq.ClearRow(it, p.sup)
	}
	for _, it := range p.lastItems {
		m.NN.Seq.ClearRow(it, p.last)
		m.NN.Co.ClearRow(it, p.lastCo)
	}
	if p.thi > p.tlo {
		m.Trend.clear(p.tlo, p.thi, p.trend)
	}
	m.partsPool.Put(p)
}

// stageOne is the blend's score of item c from p (what Score returns
// without a re-ranker).
func (m *Model) stageOne(p *parts, c ItemID) float32 {
	b := m.Config.Blend
	v := b.Seq*p.seq[c] + b.Co*p.co[c] + b.Trend*p.trend[c] + b.Pop*m.Pop[c]
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
	blend := b.Seq*p.seq[c] + b.Co*p.co[c] + b.Pop*m.Pop[c] + b.MF*mfv
	z[0], z[1], z[2], z[3] = p.seq[c], p.co[c], mfv, m.Pop[c]
	z[4], z[5], z[6], z[7] = p.last[c], p.lastCo[c], blend, p.histLen
	z[8] = float32(math.Log(1e-4 + float64(p.seq[c])))
	z[9] = float32(math.Log(1e-4 + float64(p.co[c])))
	z[10] = float32(math.Log(1e-4 + float64(p.last[c])))
	z[11], z[12], z[13] = p.seqAll[c], p.coAll[c], float32(math.Log1p(float64(p.sup[c])))
	z[14] = 0
	if m.Trend != nil {
		z[14] = m.Trend.at(int32(c), p.ref)
	}
}
