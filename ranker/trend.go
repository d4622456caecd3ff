package ranker

import (
	"math"
	"slices"
)

// Trend is time-aware popularity: how often each item was interacted with
// in the Window seconds up to a reference time. Scoring uses the time of the
// history's latest event as the reference, so it only counts the past of
// that moment. It costs one pass over the events inside the window.
type Trend struct {
	// Window is the look-back in seconds.
	Window int64
	// Times (ascending) and Items are every training interaction.
	Times []int64
	Items []int32
	// Norm scales log(1+count) into [0,1]: 1/log(1+largest item count).
	Norm float32

	byItem *trendIndex
}

// newTrend indexes x's interactions by time.
func newTrend(x *Interactions, window int64) *Trend {
	idx := make([]int, x.Len())
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case x.Time[a] < x.Time[b]:
			return -1
		case x.Time[a] > x.Time[b]:
			return 1
		}
		return 0
	})
	t := &Trend{Window: window, Times: make([]int64, len(idx)), Items: make([]int32, len(idx))}
	count := make([]int32, x.NumItems())
	var mx int32
	for j, i := range idx {
		t.Times[j], t.Items[j] = x.Time[i], int32(x.Item[i])
		count[x.Item[i]]++
		mx = max(mx, count[x.Item[i]])
	}
	if mx > 0 {
		t.Norm = float32(1 / math.Log1p(float64(mx)))
	}
	return t
}

// window returns the index range of the events in (ref-Window, ref].
func (t *Trend) window(ref int64) (lo, hi int) {
	return upper(t.Times, ref-t.Window), upper(t.Times, ref)
}

// add adds w·log(1+count)·Norm into acc for every item with events in the
// window [lo, hi); cnt is zeroed scratch of NumItems entries and is left
// zeroed.
func (t *Trend) add(lo, hi int, w float32, acc, cnt []float32) {
	items := t.Items[lo:hi]
	for _, it := range items {
		cnt[it]++
	}
	for _, it := range items {
		if c := cnt[it]; c > 0 {
			acc[it] += w * float32(math.Log1p(float64(c))) * t.Norm
			cnt[it] = 0
		}
	}
}

// clear zeroes acc at the items of window [lo, hi).
func (t *Trend) clear(lo, hi int, acc []float32) {
	for _, it := range t.Items[lo:hi] {
		acc[it] = 0
	}
}

// upper returns the number of elements of the ascending ts that are <= v.
func upper(ts []int64, v int64) int {
	lo, hi := 0, len(ts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ts[m] <= v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// trendIndex is Trend's events grouped by item (derived, not saved): the
// times of item i are times[off[i]:off[i+1]], ascending.
type trendIndex struct {
	off   []int32
	times []int64
}

// index builds the per-item index over n items.
func (t *Trend) index(n int) {
	ix := &trendIndex{off: make([]int32, n+1), times: make([]int64, len(t.Times))}
	for _, it := range t.Items {
		ix.off[it+1]++
	}
	for i := 1; i <= n; i++ {
		ix.off[i] += ix.off[i-1]
	}
	fill := slices.Clone(ix.off[:n])
	for j, it := range t.Items {
		ix.times[fill[it]] = t.Times[j]
		fill[it]++
	}
	t.byItem = ix
}

// at is item's trend score at reference time ref, the value add gives it:
// log(1+count in (ref-Window, ref])·Norm, from two binary searches over the
// item's own events instead of a pass over the window.
func (t *Trend) at(item int32, ref int64) float32 {
	ix := t.byItem
	ts := ix.times[ix.off[item]:ix.off[item+1]]
	c := upper(ts, ref) - upper(ts, ref-t.Window)
	if c <= 0 {
		return 0
	}
	return float32(math.Log1p(float64(c))) * t.Norm
}
