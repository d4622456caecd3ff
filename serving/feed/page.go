package feed

import (
	"math"
	"strconv"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// lookahead bounds how far down the ranking diversity looks for an item
// that fits before it gives up and takes the best one.
const lookahead = 64

// page is the re-ranking walk and the paging stage: it lays the feed out
// position by position (pins at their positions, new rooms in exploration
// slots, else the best remaining item that keeps the window diverse, live
// rooms before upcoming ones) and collects the first size items not served
// on earlier pages that pass check (nil: all). It fills sc.page and
// sc.hashes and reports whether items remain for another page.
func (r *run) page(noDiversity bool, check func(c *cand) bool) (more bool) {
	sc := r.sc
	sc.seq, sc.page, sc.hashes = sc.seq[:0], sc.page[:0], sc.hashes[:0]
	var mainNext, tailNext, poolNext, pinNext int
	k := 0
	if r.explore > 0 {
		k = max(2, int(math.Round(1/r.explore)))
	}
	depth := maxDepth
	if r.maxItems > 0 {
		depth = r.maxItems
	}
	for pos := 0; len(sc.page) < r.size && len(sc.seq) < depth; pos++ {
		ci := int32(-1)
		if pinNext < len(sc.pins) && int(sc.cands[sc.pins[pinNext]].pinPos) <= pos {
			ci = sc.pins[pinNext]
			pinNext++
		}
		if ci < 0 && k > 0 && pos%k == k/2 {
			for poolNext < len(sc.pool) && ci < 0 {
				if p := sc.pool[poolNext]; !sc.cands[p].placed {
					ci = p
					sc.cands[p].src |= srcExplored
				}
				poolNext++
			}
		}
		if ci < 0 {
			ci = r.pick(&mainNext, sc.order, noDiversity)
		}
		if ci < 0 {
			ci = r.pick(&tailNext, sc.tail, noDiversity)
		}
		if ci < 0 && pinNext < len(sc.pins) { // pins beyond the end of the feed
			ci = sc.pins[pinNext]
			pinNext++
		}
		if ci < 0 {
			return false
		}
		c := &sc.cands[ci]
		c.placed = true
		sc.seq = append(sc.seq, ci)
		h := hash32(r.sn.entries[c.idx].id)
		if r.cur.isServed(h) || (check != nil && !check(c)) {
			continue
		}
		sc.page = append(sc.page, ci)
		sc.hashes = append(sc.hashes, h)
	}
	if r.maxItems > 0 || r.cur.offset+len(sc.page) >= maxDepth {
		return false
	}
	for _, l := range [][]int32{sc.order[mainNext:], sc.tail[tailNext:], sc.pins[pinNext:]} {
		for _, ci := range l {
			if !sc.cands[ci].placed {
				return true
			}
		}
	}
	return false
}

// pick returns the best unplaced candidate of list from *next that keeps the
// diversity limits in the window ending at the next position, or the best
// unplaced one if none within the lookahead does; -1 when list is used up.
func (r *run) pick(next *int, list []int32, noDiversity bool) int32 {
	sc := r.sc
	isOrder := len(list) > 0 && len(sc.order) > 0 && &list[0] == &sc.order[0] // order may be empty while pins are not
	for *next < len(list) && r.at(list, *next, isOrder).placed {
		*next++
	}
	if *next == len(list) {
		return -1
	}
	if noDiversity || r.s.tune.DiversityWin <= 1 {
		return list[*next]
	}
	end := min(len(list), *next+lookahead)
	for j := *next; j < end; j++ {
		if c := r.at(list, j, isOrder); !c.placed && r.fits(c) {
			return list[j]
		}
	}
	return list[*next]
}

// at returns the candidate at list[j], first sorting the rest of the main
// order if j is past its sorted part.
func (r *run) at(list []int32, j int, isOrder bool) *cand {
	if isOrder && j >= r.sorted {
		r.sc.sortRest(list, r.sorted)
		r.sorted = len(list)
	}
	return &r.sc.cands[list[j]]
}

// fits reports whether c keeps the category and merchant limits in the
// window of the last DiversityWin positions.
func (r *run) fits(c *cand) bool {
	t, sc, sn := &r.s.tune, r.sc, r.sn
	e := &sn.entries[c.idx]
	w := sc.seq[max(0, len(sc.seq)-t.DiversityWin+1):]
	nc, nm := 0, 0
	for _, ci := range w {
		o := &sn.entries[sc.cands[ci].idx]
		if e.cat >= 0 && o.cat == e.cat {
			nc++
		}
		if e.merch >= 0 && o.merch == e.merch {
			nm++
		}
	}
	return (r.anyCat || t.MaxPerCategory <= 0 || nc < t.MaxPerCategory) && (t.MaxPerMerchant <= 0 || nm < t.MaxPerMerchant)
}

// reasons explains a candidate.
func (r *run) reasons(c *cand) []*tidev1.Reason {
	e := &r.sn.entries[c.idx]
	var out []*tidev1.Reason
	add := func(k tidev1.ReasonKind, detail string) {
		out = append(out, &tidev1.Reason{Kind: k, Detail: detail})
	}
	if c.src&srcPinned != 0 {
		add(tidev1.ReasonKind_REASON_KIND_PINNED, strconv.Itoa(int(c.pinPos)))
	}
	if c.src&srcFollowed != 0 {
		add(tidev1.ReasonKind_REASON_KIND_FOLLOWED_ANCHOR, e.merchant)
	}
	if c.src&srcSimilar != 0 {
		add(tidev1.ReasonKind_REASON_KIND_SIMILAR_TO_RECENT, c.similar)
	}
	if c.src&srcSimilarItem != 0 {
		add(tidev1.ReasonKind_REASON_KIND_SIMILAR_ITEM, c.similar)
	}
	if c.src&srcSameCategory != 0 {
		add(tidev1.ReasonKind_REASON_KIND_SAME_CATEGORY, e.category)
	}
	if c.src&srcTrending != 0 {
		add(tidev1.ReasonKind_REASON_KIND_TRENDING_IN_CATEGORY, e.category)
	}
	if c.src&srcShelf != 0 {
		add(tidev1.ReasonKind_REASON_KIND_IN_ROOM, c.similar)
	}
	if c.src&srcPopular != 0 {
		add(tidev1.ReasonKind_REASON_KIND_POPULAR, "")
	}
	if c.src&(srcNew|srcExplored) != 0 && !e.upcoming {
		add(tidev1.ReasonKind_REASON_KIND_NEW_ROOM, "")
	}
	if e.upcoming {
		add(tidev1.ReasonKind_REASON_KIND_UPCOMING, time.UnixMilli(e.startsAt).UTC().Format(time.RFC3339))
	}
	if e.boost != 1 {
		add(tidev1.ReasonKind_REASON_KIND_BOOSTED, strconv.FormatFloat(float64(e.boost), 'g', 4, 32))
	}
	if c.imps > 0 {
		add(tidev1.ReasonKind_REASON_KIND_FATIGUE, strconv.Itoa(int(c.imps)))
	}
	if r.cold {
		add(tidev1.ReasonKind_REASON_KIND_COLD_START, "")
	}
	if r.scorer != "" {
		add(tidev1.ReasonKind_REASON_KIND_SCORER, r.scorer)
	}
	return out
}
