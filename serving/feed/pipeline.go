package feed

import (
	"cmp"
	"math"
	"slices"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
	"github.com/tide-live/tide/serving/experiment"
)

// Candidate sources and adjustments, as bits of cand.src.
const (
	srcFollowed uint16 = 1 << iota
	srcSimilar
	srcTrending
	srcPopular
	srcNew
	srcUpcoming
	srcPinned
	srcShelf
	srcSimilarItem
	srcSameCategory
	srcExplored // placed in an exploration slot
)

// cand is one candidate of a request.
type cand struct {
	idx     int32  // entry in the snapshot
	src     uint16 // sources and adjustments
	imps    int32  // impressions in the viewer's current streak
	pinPos  int32  // operator pin position, or -1
	similar string // the recent item it neighbours (srcSimilar), the item or room asked about
	model   float64
	score   float64
	out     bool // excluded (just left, bought)
	bought  bool // on a shelf: bought already, goes last
	placed  bool
}

// sortKey orders candidates: score, then snapshot order (which is by id).
type sortKey struct {
	score float64
	idx   int32
	ci    int32
}

func byKey(a, b sortKey) int {
	switch {
	case a.score > b.score:
		return -1
	case a.score < b.score:
		return 1
	}
	return cmp.Compare(a.idx, b.idx)
}

// sortByScore orders the candidate indices l so that l[:k] are the best k,
// best first, and every later one is worse; it returns how much of l is
// sorted (k, or all of l). Paging rarely looks past the first page and the
// diversity lookahead, so the rest waits for sortRest.
func (sc *scratch) sortByScore(l []int32, k int) int {
	sc.keys = sc.keys[:0]
	for _, ci := range l {
		c := &sc.cands[ci]
		sc.keys = append(sc.keys, sortKey{c.score, c.idx, ci})
	}
	if k < len(l) {
		selectTop(sc.keys, k)
		slices.SortFunc(sc.keys[:k], byKey)
	} else {
		k = len(l)
		slices.SortFunc(sc.keys, byKey)
	}
	for j := range sc.keys {
		l[j] = sc.keys[j].ci
	}
	return k
}

// sortRest sorts l[from:] best first (after sortByScore left it unsorted).
func (sc *scratch) sortRest(l []int32, from int) {
	rest := l[from:]
	sc.keys = sc.keys[:0]
	for _, ci := range rest {
		c := &sc.cands[ci]
		sc.keys = append(sc.keys, sortKey{c.score, c.idx, ci})
	}
	slices.SortFunc(sc.keys, byKey)
	for j := range sc.keys {
		rest[j] = sc.keys[j].ci
	}
}

// selectTop partially orders ks so that ks[:k] hold the k best (in any
// order): quickselect, median-of-three pivots.
func selectTop(ks []sortKey, k int) {
	lo, hi := 0, len(ks)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if byKey(ks[mid], ks[lo]) < 0 {
			ks[mid], ks[lo] = ks[lo], ks[mid]
		}
		if byKey(ks[hi], ks[lo]) < 0 {
			ks[hi], ks[lo] = ks[lo], ks[hi]
		}
		if byKey(ks[hi], ks[mid]) < 0 {
			ks[hi], ks[mid] = ks[mid], ks[hi]
		}
		p := ks[mid]
		i, j := lo, hi
		for i <= j {
			for byKey(ks[i], p) < 0 {
				i++
			}
			for byKey(p, ks[j]) < 0 {
				j--
			}
			if i <= j {
				ks[i], ks[j] = ks[j], ks[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k > i:
			lo = i
		default:
			return
		}
	}
}

// catW is the viewer's affinity for one category, in (0, 1].
type catW struct {
	cat int32
	w   float64
}

// scratch is the pooled working memory of one request: nothing in the hot
// path allocates in proportion to the number of rooms or products.
type scratch struct {
	user   features.UserFeatures
	as     []experiment.Assignment
	cands  []cand
	slot   []int32 // entry → cand index + 1; zeroed after each request
	hist   ranker.History
	items  []ranker.ItemID
	scores []float64
	order  []int32 // cand indices, best first
	tail   []int32 // upcoming cand indices, best first
	keys   []sortKey
	pool   []int32 // exploration pool
	pins   []int32 // pinned cand indices, by position
	seq    []int32 // the ranked sequence placed so far
	page   []int32 // cand indices of the page
	hashes []uint32
	cats   []catW
	tmp    []features.Engagement
	ctr    ctrScratch
}

func (s *Service) getScratch() *scratch {
	if sc, ok := s.pool.Get().(*scratch); ok {
		return sc
	}
	return &scratch{}
}

func (s *Service) putScratch(sc *scratch) {
	for _, c := range sc.cands {
		sc.slot[c.idx] = 0
	}
	clear(sc.cands) // drop string references
	sc.cands = sc.cands[:0]
	s.pool.Put(sc)
}

// run is the state of one request through the pipeline.
type run struct {
	s        *Service
	sn       *snapshot
	sc       *scratch
	rules    *compiledRules
	personal bool
	explore  float64
	cur      cursor
	size     int
	cold     bool     // the viewer has no usable history
	anyCat   bool     // diversity limits merchants only (Similar: one category by design)
	live     []string // the store's live rooms, sorted, read at the first check
	liveSame bool     // live is the set the snapshot was built from
	sorted   int      // sc.order[:sorted] is sorted; the rest is worse, unsorted
	maxItems int      // Similar: no cursor, one page
	scorer   string   // which scorer set the scores (the REASON_KIND_SCORER detail)
}

func (s *Service) newRun(sn *snapshot, sc *scratch, variant string, explore float64, cur cursor, size int) *run {
	if n := len(sn.entries); len(sc.slot) < n {
		sc.slot = make([]int32, n+n/4)
	}
	return &run{s: s, sn: sn, sc: sc, rules: s.rules.Load(), personal: variant == RankerPersonalised,
		explore: explore, cur: cur, size: size}
}

// add makes entry i a candidate (once) with source src and returns it.
func (r *run) add(i int32, src uint16) *cand {
	sc := r.sc
	if k := sc.slot[i]; k > 0 {
		c := &sc.cands[k-1]
		c.src |= src
		return c
	}
	sc.cands = append(sc.cands, cand{idx: i, src: src, pinPos: -1})
	sc.slot[i] = int32(len(sc.cands))
	return &sc.cands[len(sc.cands)-1]
}

// find returns the candidate of the entry named id, or nil.
func (r *run) find(id string) *cand {
	i, ok := r.sn.byID[id]
	if !ok {
		return nil
	}
	if k := r.sc.slot[i]; k > 0 {
		return &r.sc.cands[k-1]
	}
	return nil
}

// profile computes the viewer's category affinities from their product
// categories and the categories of their recent rooms, strongest first.
func (r *run) profile(rooms *snapshot) {
	u, sc := &r.sc.user, r.sc
	sc.cats = sc.cats[:0]
	addCat := func(cat int32, w float64) {
		if cat < 0 || w <= 0 {
			return
		}
		for k := range sc.cats {
			if sc.cats[k].cat == cat {
				sc.cats[k].w += w
				return
			}
		}
		sc.cats = append(sc.cats, catW{cat, w})
	}
	for _, e := range u.Categories {
		if c, ok := r.sn.catIDs[e.ID]; ok {
			addCat(c, e.Strength)
		}
	}
	for k, e := range u.Rooms {
		if k == 20 {
			break
		}
		if i, ok := rooms.byID[e.ID]; ok {
			if c, ok := r.sn.catIDs[rooms.entries[i].category]; ok {
				addCat(c, 0.5*e.Strength)
			}
		}
	}
	slices.SortFunc(sc.cats, func(a, b catW) int { return cmp.Compare(b.w, a.w) })
	if len(sc.cats) > 0 {
		top := sc.cats[0].w
		for k := range sc.cats {
			sc.cats[k].w /= top
		}
	}
}

// catAffinity is the viewer's affinity for category c, in [0, 1].
func (r *run) catAffinity(c int32) float64 {
	for _, x := range r.sc.cats {
		if x.cat == c {
			return x.w
		}
	}
	return 0
}

// neighbours adds the model neighbours of the recent items as candidates.
func (r *run) neighbours(recent []features.Engagement) {
	m, sn, t := r.sn.model, r.sn, r.s.tune
	if m == nil {
		return
	}
	for k, e := range recent {
		if k == t.RecentForCF {
			break
		}
		it, ok := m.Item(e.ID)
		if !ok {
			continue
		}
		take := func(nbr []int32) {
			n := 0
			for _, b := range nbr {
				if i := sn.itemIdx[b]; i >= 0 && int(i) < sn.nLive {
					c := r.add(i, srcSimilar)
					if c.similar == "" {
						c.similar = e.ID
					}
					if n++; n == t.NeighboursPerItem {
						return
					}
				}
			}
		}
		seq, _ := m.NN.Seq.Row(int32(it))
		take(seq)
		co, _ := m.NN.Co.Row(int32(it))
		take(co)
	}
}

// history turns recent engagements (most recent first) into a model history
// (oldest first) of at most Tuning.MaxHistory items.
func (r *run) history(recent []features.Engagement) ranker.History {
	m, sc := r.sn.model, r.sc
	sc.hist = sc.hist[:0]
	if m == nil {
		return sc.hist
	}
	n := min(len(recent), r.s.tune.MaxHistory)
	for k := n - 1; k >= 0; k-- {
		e := &recent[k]
		it, ok := m.Item(e.ID)
		if !ok {
			continue
		}
		sc.hist = append(sc.hist, ranker.Event{Item: it, Time: e.Last.Unix(), Weight: float32(min(1, 0.2+e.Strength/5))})
	}
	return sc.hist
}

// score is the scoring stage: the learned CTR model (WithCTRModel) when
// one is loaded for the surface; else, as the cold-start fallback, the CF
// model on the viewer's history blended by Tuning's hand-set weights with
// popularity, trend, category affinity, follows and (products) the fit to
// the viewer's long-term price band (personalised), or
// popularity alone; then boosts and fatigue.
func (r *run) score(hist ranker.History) {
	r.scorer = ScorerPopularity
	if r.personal {
		r.scorer = ScorerHandSet
		kind := ctr.Rooms
		if r.sn.rooms != nil {
			kind = ctr.Products
		}
		if r.scoreCTR(kind) {
			return
		}
	}
	sc, sn, t := r.sc, r.sn, r.s.tune
	cs := sc.cands
	useModel := r.personal && sn.model != nil && len(hist) > 0
	if useModel {
		sc.items = sc.items[:0]
		for k := range cs {
			sc.items = append(sc.items, sn.entries[cs[k].idx].item)
		}
		sc.scores = slices.Grow(sc.scores[:0], len(cs))[:len(cs)]
		sn.model.ScoreInto(hist, sc.items, sc.scores)
		var mx, sum float64
		known := 0
		for k := range cs {
			if sc.items[k] >= 0 {
				mx = max(mx, sc.scores[k])
			}
		}
		for k := range cs {
			if sc.items[k] < 0 {
				continue
			}
			v := max(norm(sc.scores[k], mx), 0)
			cs[k].model = v
			sum += v
			known++
		}
		if known > 0 {
			mean := sum / float64(known)
			for k := range cs {
				if sc.items[k] < 0 { // cold start: a new room competes at the mean
					cs[k].model = mean
				}
			}
		}
	}
	for k := range cs {
		c := &cs[k]
		e := &sn.entries[c.idx]
		var v float64
		if r.personal {
			v = t.WModel*c.model + t.WPop*float64(e.pop) + t.WTrend*float64(e.trend) + t.WCategory*r.catAffinity(e.cat) +
				t.WPrice*sc.user.PriceBand.Affinity(e.price)
			if c.src&srcFollowed != 0 {
				v += t.WFollow
			}
		} else {
			v = float64(e.pop)
		}
		v *= float64(e.boost)
		if c.bought {
			v *= 0.01
		}
		if c.imps > 0 && t.Fatigue < 1 {
			v *= math.Pow(t.Fatigue, float64(c.imps))
		}
		c.score = v
	}
}

// rerank sorts the candidates into the main order (live, best first), the
// tail (upcoming, best first), the exploration pool (new rooms in a
// per-feed random order) and the pins (by position).
func (r *run) rerank() {
	sc, sn := r.sc, r.sn
	sc.order, sc.tail, sc.pool, sc.pins = sc.order[:0], sc.tail[:0], sc.pool[:0], sc.pins[:0]
	for k := range sc.cands {
		c := &sc.cands[k]
		if c.out {
			continue
		}
		switch {
		case c.pinPos >= 0:
			sc.pins = append(sc.pins, int32(k))
		case sn.entries[c.idx].upcoming:
			sc.tail = append(sc.tail, int32(k))
		default:
			sc.order = append(sc.order, int32(k))
			if c.src&srcNew != 0 && r.explore > 0 {
				sc.pool = append(sc.pool, int32(k))
			}
		}
	}
	r.sorted = sc.sortByScore(sc.order, r.cur.offset+r.size+len(sc.pins)+lookahead+8)
	sc.sortByScore(sc.tail, len(sc.tail))
	slices.SortFunc(sc.pins, func(a, b int32) int { return cmp.Compare(sc.cands[a].pinPos, sc.cands[b].pinPos) })
	seed := r.cur.seed
	slices.SortFunc(sc.pool, func(a, b int32) int {
		ia, ib := sn.entries[sc.cands[a].idx].id, sn.entries[sc.cands[b].idx].id
		if c := cmp.Compare(hash64(seed, ia), hash64(seed, ib)); c != 0 {
			return c
		}
		return cmp.Compare(ia, ib)
	})
}
