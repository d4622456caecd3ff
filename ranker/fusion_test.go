package ranker

import (
	"context"
	"math"
	"slices"
	"testing"
)

func fusedBlend() Blend {
	b := Blend{Seq: 1, Co: 0.1, MF: 0.05, Pop: 0.01}
	b.Norm[PartMF] = 0.2
	b.Rank[PartSeq] = 0.3
	b.Rank[PartPop] = 0.02
	return b
}

// TestFusedScoresByHand recomputes the fused score of every item from the
// parts' own scores and the documented transforms.
func TestFusedScoresByHand(t *testing.T) {
	m := trainChains(t).WithBlend(fusedBlend())
	b := m.Config.Blend
	h := hist(m, "noise4", "c2.0", "c2.1")
	n := m.NumItems()
	want := make([]float64, n)
	inHist := map[ItemID]bool{}
	for _, e := range h {
		inHist[e.Item] = true
	}
	for p := range NumParts {
		if !m.hasPart(p) {
			continue
		}
		s := make([]float32, n)
		m.WithBlend(Only(p)).ScoreAll(h, s)
		// best score and ranks outside the history, positive scores only
		var order []Scored
		for i, v := range s {
			if !inHist[ItemID(i)] && v > 0 {
				order = append(order, Scored{ItemID(i), v})
			}
		}
		slices.SortFunc(order, func(x, y Scored) int {
			if better(x, y) {
				return -1
			}
			return 1
		})
		var mx float64
		if len(order) > 0 {
			mx = float64(order[0].Score)
		}
		for i, v := range s {
			want[i] += float64(*b.Raw(p)) * float64(v)
			if mx > 0 {
				want[i] += float64(b.Norm[p]) * float64(v) / mx
			}
		}
		for r, x := range order[:min(len(order), RankDepth)] {
			want[x.Item] += float64(b.Rank[p]) / float64(RankOffset+r)
		}
	}
	got := make([]float32, n)
	m.ScoreAll(h, got)
	for i := range n {
		if math.Abs(float64(got[i])-want[i]) > 1e-5 {
			t.Fatalf("item %s: fused %v, by hand %v", m.ItemName(ItemID(i)), got[i], want[i])
		}
	}
	// Score agrees with ScoreAll, and the fused model still finds the chain
	cands := []ItemID{0, 3, ItemID(n - 1), -1}
	sc := m.Score(context.Background(), h, cands)
	for j, c := range cands {
		w := 0.0
		if c >= 0 {
			w = float64(got[c])
		}
		if sc[j] != w {
			t.Errorf("Score(%d) = %v, ScoreAll %v", c, sc[j], w)
		}
	}
	if rec := m.Recommend(context.Background(), h, 1, nil); m.ItemName(rec[0].Item) != "c2.2" {
		t.Errorf("fused top item %s, want c2.2", m.ItemName(rec[0].Item))
	}
}

func TestFusedScoreIntoDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	m := trainChains(t).WithBlend(fusedBlend())
	h := hist(m, "noise2", "c1.0", "c1.1")
	cands := []ItemID{1, 2, 3}
	out := make([]float64, len(cands))
	m.ScoreInto(h, cands, out)
	if a := testing.AllocsPerRun(50, func() { m.ScoreInto(h, cands, out) }); a > 0 {
		t.Fatalf("fused ScoreInto allocates %.1f times per call", a)
	}
}
