package feedeval

import (
	"math"

	rankoff "github.com/tide-live/tide/ranker/offline"
)

// Group is one scorer's figures on one group of targets.
type Group = rankoff.Metrics

// Result is one scorer's figures: on every evaluated enter, split by
// whether the viewer had entered a room of the anchor before (new vs
// repeat) and by how the simulator exposed the page (its organic policy vs
// the exploration slice).
type Result struct {
	Name                               string
	All, New, Repeat, Organic, Explore Group
	// Hidden counts targets the feed did not show at all (a room left
	// moments ago, filtered by a rule, or beyond the page).
	Hidden int
	acc    [5][2]float64
	n      [5]int
}

const (
	gAll = iota
	gNew
	gRepeat
	gOrganic
	gExplore
)

// add records one target's gain.
func (r *Result) add(hit, ndcg float64, repeat, explore bool) {
	gs := [3]int{gAll, gNew, gOrganic}
	if repeat {
		gs[1] = gRepeat
	}
	if explore {
		gs[2] = gExplore
	}
	for _, g := range gs {
		r.acc[g][0] += hit
		r.acc[g][1] += ndcg
		r.n[g]++
	}
}

// addRank records a target at 0-based rank (negative: not shown).
func (r *Result) addRank(rank, k int, repeat, explore bool) {
	if rank < 0 {
		r.Hidden++
	}
	h, n := rankoff.Gain(rank, k)
	r.add(h, n, repeat, explore)
}

// addRandom records the expected gain of a random order of n rooms.
func (r *Result) addRandom(n, k int, repeat, explore bool) {
	if n <= 0 {
		r.add(0, 0, repeat, explore)
		return
	}
	m := min(n, k)
	var nd float64
	for i := range m {
		nd += 1 / math.Log2(float64(i)+2)
	}
	r.add(float64(m)/float64(n), nd/float64(n), repeat, explore)
}

func (r *Result) finish() {
	g := func(i int) Group {
		if r.n[i] == 0 {
			return Group{}
		}
		return Group{HR: r.acc[i][0] / float64(r.n[i]), NDCG: r.acc[i][1] / float64(r.n[i]), Users: r.n[i]}
	}
	r.All, r.New, r.Repeat, r.Organic, r.Explore = g(gAll), g(gNew), g(gRepeat), g(gOrganic), g(gExplore)
}
