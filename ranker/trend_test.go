package ranker

import (
	"math"
	"testing"
)

func TestTrendWindow(t *testing.T) {
	const day = 86400
	x := NewInteractions()
	for _, d := range []int64{3, 1, 2} {
		x.Add("u", "a", d*day, 1)
	}
	x.Add("v", "b", 10*day, 1)
	x.Add("w", "a", 10*day, 1)
	tr := newTrend(x, 5*day)
	tr.index(2)
	norm := 1 / math.Log1p(4) // item a has 4 events in all
	for _, tc := range []struct {
		ref  int64
		a, b float64
	}{
		{4 * day, math.Log1p(3) * norm, 0}, // a on days 1-3
		{2 * day, math.Log1p(2) * norm, 0}, // only the past counts
		{10 * day, norm * math.Log1p(1), norm * math.Log1p(1)},
		{16 * day, 0, 0}, // everything left the window
	} {
		acc := make([]float32, 2)
		cnt := make([]float32, 2)
		lo, hi := tr.window(tc.ref)
		tr.add(lo, hi, 1, acc, cnt)
		if math.Abs(float64(acc[0])-tc.a) > 1e-6 || math.Abs(float64(acc[1])-tc.b) > 1e-6 {
			t.Errorf("ref day %d: trend %v, want [%.4f %.4f]", tc.ref/day, acc, tc.a, tc.b)
		}
		if cnt[0] != 0 || cnt[1] != 0 {
			t.Fatalf("count scratch not cleared: %v", cnt)
		}
		// the per-item lookup the re-ranker uses agrees with the pass
		for it := range int32(2) {
			if got := tr.at(it, tc.ref); got != acc[it] {
				t.Errorf("ref day %d item %d: at() %v, the window pass %v", tc.ref/day, it, got, acc[it])
			}
		}
		tr.clear(lo, hi, acc)
		if acc[0] != 0 || acc[1] != 0 {
			t.Fatalf("clear left %v", acc)
		}
	}
}

func TestDefaultEventWeightsOrdered(t *testing.T) {
	w := DefaultEventWeights()
	kinds := []EventKind{KindShortView, KindView, KindClick, KindAddToCart, KindOrder}
	for i := 1; i < len(kinds); i++ {
		if !(w.Weight(kinds[i-1]) < w.Weight(kinds[i])) {
			t.Fatalf("weight of kind %d is not below kind %d", kinds[i-1], kinds[i])
		}
	}
	if w.ForView(w.ShortViewMillis-1) != w.ShortView || w.ForView(w.ShortViewMillis) != w.View {
		t.Fatal("ForView does not split at ShortViewMillis")
	}
}
