package offline

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tide-live/tide/ranker"
)

func TestGain(t *testing.T) {
	for _, tc := range []struct {
		rank, k   int
		hit, ndcg float64
	}{
		{0, 10, 1, 1},
		{1, 10, 1, 1 / math.Log2(3)},
		{9, 10, 1, 1 / math.Log2(11)},
		{10, 10, 0, 0},
		{-1, 10, 0, 0},
	} {
		h, g := Gain(tc.rank, tc.k)
		if h != tc.hit || math.Abs(g-tc.ndcg) > 1e-12 {
			t.Errorf("Gain(%d,%d) = %v,%v want %v,%v", tc.rank, tc.k, h, g, tc.hit, tc.ndcg)
		}
	}
}

func ev(items ...ranker.ItemID) ranker.History {
	h := make(ranker.History, len(items))
	for i, it := range items {
		h[i] = ranker.Event{Item: it}
	}
	return h
}

func TestFullRank(t *testing.T) {
	scores := []float32{0.5, 0.9, 0.1, 0.9, 0.3}
	ex := make([]bool, len(scores))
	for _, tc := range []struct {
		hist   ranker.History
		target ranker.ItemID
		want   int
	}{
		{ev(1), 3, 0},    // the tie with item 1 is gone: 1 is in the history
		{nil, 3, 1},      // tie with item 1: the lower index ranks first
		{nil, 1, 0},      //
		{ev(3), 0, 1},    // only item 1 is ahead
		{ev(1, 3), 4, 1}, // item 0 ahead; 2 behind
		{nil, 2, 4},      // last
	} {
		if got := FullRank(scores, tc.hist, tc.target, ex); got != tc.want {
			t.Errorf("FullRank(hist %v, target %d) = %d, want %d", tc.hist, tc.target, got, tc.want)
		}
	}
	for i, e := range ex {
		if e {
			t.Fatalf("exclusion mask left set at %d", i)
		}
	}
}

func TestSampledRank(t *testing.T) {
	// item i scores i: the target's rank is how many sampled items exceed it
	scores := make([]float32, 1000)
	for i := range scores {
		scores[i] = float32(i)
	}
	ex := make([]bool, len(scores))
	hist := ev(999, 998, 997)
	r1 := SampledRank(scores, hist, 500, 99, rand.New(rand.NewPCG(1, 0)), ex)
	r2 := SampledRank(scores, hist, 500, 99, rand.New(rand.NewPCG(1, 0)), ex)
	if r1 != r2 {
		t.Fatalf("same seed, different ranks %d and %d", r1, r2)
	}
	if r1 < 30 || r1 > 70 { // about half of 99 should lie above 500
		t.Fatalf("rank %d, want about 49", r1)
	}
	if got := SampledRank(scores, hist, 996, 99, rand.New(rand.NewPCG(2, 0)), ex); got != 0 {
		t.Fatalf("the best item outside the history ranks %d, want 0", got)
	}
	// fewer candidates than requested: all of them are used
	small := []float32{3, 2, 1, 0}
	if got := SampledRank(small, ev(0), 3, 99, rand.New(rand.NewPCG(3, 0)), make([]bool, 4)); got != 2 {
		t.Fatalf("rank among the 2 other items = %d, want 2", got)
	}
}

// fixed scores every history the same way.
type fixed []float32

func (f fixed) NumItems() int                            { return len(f) }
func (f fixed) ScoreAll(_ ranker.History, out []float32) { copy(out, f) }

func TestEvaluateHandComputed(t *testing.T) {
	s := fixed{0.9, 0.8, 0.7, 0.6}
	cases := []Case{
		{History: ev(0), Target: 1},    // rank 0
		{History: nil, Target: 2},      // rank 2
		{History: ev(1, 2), Target: 3}, // rank 1
		{History: nil, Target: 3},      // rank 3: out of the top 2
	}
	m, err := Evaluate(context.Background(), s, cases, EvalOptions{K: 3})
	if err != nil {
		t.Fatal(err)
	}
	wantNDCG := (1 + 1/math.Log2(4) + 1/math.Log2(3)) / 4
	if m.HR != 0.75 || math.Abs(m.NDCG-wantNDCG) > 1e-12 || m.Users != 4 {
		t.Fatalf("got %+v, want HR 0.75 NDCG %.4f users 4", m, wantNDCG)
	}
	if _, err := Evaluate(context.Background(), s, []Case{{Target: 9}}, EvalOptions{}); err == nil {
		t.Fatal("unknown target accepted")
	}
}
