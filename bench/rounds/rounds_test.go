package rounds

import (
	"fmt"
	"testing"
)

func TestMediansInterleaves(t *testing.T) {
	var order []string
	a, b := 0.0, 100.0
	got := Medians(3, // raised to Min
		func() float64 { order = append(order, "a"); a++; return a },
		func() float64 { order = append(order, "b"); b--; return b })
	if len(order) != 2*Min {
		t.Fatalf("%d runs, want %d", len(order), 2*Min)
	}
	if fmt.Sprint(order[:4]) != "[a b b a]" {
		t.Errorf("order %v: the first side does not rotate", order)
	}
	if got[0] != 3 || got[1] != 97 {
		t.Errorf("medians %v, want [3 97]", got)
	}
}

func TestMedian(t *testing.T) {
	xs := []float64{5, 1, 3, 2}
	if m := Median(xs); m != 2.5 || xs[0] != 5 {
		t.Errorf("Median = %v (input now %v)", m, xs)
	}
	if Median(nil) != 0 || Median([]float64{7}) != 7 {
		t.Error("Median of none or one")
	}
}

func ExampleMedians() {
	real := func() float64 { return 40 } // e.g. events/s of the real path this round
	raw := func() float64 { return 100 } // and of its raw limit
	m := Medians(Min, real, raw)
	fmt.Printf("ratio_to_raw %.2f\n", m[0]/m[1])
	// Output: ratio_to_raw 0.40
}
