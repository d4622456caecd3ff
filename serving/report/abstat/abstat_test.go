package abstat

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestRatio(t *testing.T) {
	tests := []struct {
		name      string
		s         Sums
		value, se float64
	}{
		// units (x, y) = (1,2) (0,1) (2,3): every (co)variance is 1, R = 0.5,
		// Var = (1 − 2·0.5·1 + 0.25·1) / (3·2²) = 0.25/12.
		{"ratio", Sums{N: 3, X: 3, Y: 6, XX: 5, YY: 14, XY: 8}, 0.5, math.Sqrt(0.25 / 12)},
		// a binary mean 0,1,1,0: p = 0.5, s² = 1/3, se = sqrt(1/3 / 4).
		{"binary mean", MeanSums(4, 2, 2), 0.5, math.Sqrt(1.0 / 12)},
		{"constant", MeanSums(5, 10, 20), 2, 0},
		{"one unit", MeanSums(1, 3, 9), 3, 0},
		{"no denominator", Sums{N: 3}, 0, 0},
		{"no units", Sums{}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Ratio(tt.s)
			if !near(got.Value, tt.value, 1e-12) || !near(got.StdErr, tt.se, 1e-12) {
				t.Errorf("Ratio = %+v, want value %v se %v", got, tt.value, tt.se)
			}
		})
	}
}

func TestRelativeLift(t *testing.T) {
	// se = sqrt(0.03²/0.5² + 0.6²·0.02²/0.5⁴) = sqrt(0.005904); z(0.975) = 1.959964.
	se := math.Sqrt(0.005904)
	tests := []struct {
		name      string
		tr, c     Estimate
		rel, half float64
		sig       bool
	}{
		{"up", Estimate{0.6, 0.03}, Estimate{0.5, 0.02}, 0.2, 1.959964 * se, true},
		{"noise", Estimate{0.51, 0.05}, Estimate{0.5, 0.05}, 0.02, 1.959964 * math.Sqrt(0.01+0.51*0.51*0.0025/0.0625), false},
		{"down", Estimate{0.4, 0.001}, Estimate{0.5, 0.001}, -0.2, 1.959964 * math.Sqrt(0.000004+0.16*0.000001/0.0625), true},
		{"zero control", Estimate{0.4, 0.1}, Estimate{}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := RelativeLift(tt.tr, tt.c, 0.95)
			if !near(l.Relative, tt.rel, 1e-9) || !near(l.Low, tt.rel-tt.half, 1e-5) || !near(l.High, tt.rel+tt.half, 1e-5) || l.Significant != tt.sig {
				t.Errorf("RelativeLift = %+v, want %v ± %v significant=%v", l, tt.rel, tt.half, tt.sig)
			}
		})
	}
}

func TestSampleRatio(t *testing.T) {
	// With two arms χ² has one degree of freedom and P(χ²₁ > x) = erfc(√(x/2)).
	chi1 := func(x float64) float64 { return math.Erfc(math.Sqrt(x / 2)) }
	tests := []struct {
		name     string
		obs, w   []float64
		chi      float64
		mismatch bool
	}{
		{"balanced", []float64{5000, 5000}, nil, 0, false},
		{"drift", []float64{5000, 5300}, nil, 2 * 150.0 * 150 / 5150, false},
		{"broken", []float64{5000, 5500}, nil, 2 * 250.0 * 250 / 5250, true},
		// 90/10 planned, 9000/1000 seen: no mismatch; seen as 50/50 it is one.
		{"weighted ok", []float64{9000, 1000}, []float64{9, 1}, 0, false},
		{"weighted broken", []float64{9000, 1000}, nil, 2 * 4000.0 * 4000 / 5000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SampleRatio(tt.obs, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.ChiSquared, tt.chi, 1e-9) || !near(got.PValue, chi1(tt.chi), 1e-9) || got.Mismatch != tt.mismatch {
				t.Errorf("SampleRatio = %+v, want χ² %v p %v mismatch %v", got, tt.chi, chi1(tt.chi), tt.mismatch)
			}
		})
	}
	// Three arms: df = 2, P(χ²₂ > x) = exp(−x/2).
	got, err := SampleRatio([]float64{100, 100, 130}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2*100.0/110 + 400.0/110; !near(got.ChiSquared, want, 1e-9) || !near(got.PValue, math.Exp(-want/2), 1e-9) {
		t.Errorf("three arms: %+v, want χ² %v p %v", got, want, math.Exp(-want/2))
	}
	for _, bad := range [][2][]float64{{{1}, nil}, {{1, 2}, {1}}, {{1, 2}, {1, 0}}, {{-1, 2}, nil}} {
		if _, err := SampleRatio(bad[0], bad[1]); !errors.Is(err, ErrSRMInput) {
			t.Errorf("SampleRatio(%v, %v) err = %v, want ErrSRMInput", bad[0], bad[1], err)
		}
	}
}

func ExampleSampleRatio() {
	srm, _ := SampleRatio([]float64{5000, 5500}, nil)
	fmt.Printf("χ²=%.2f mismatch=%v\n", srm.ChiSquared, srm.Mismatch)
	// Output: χ²=23.81 mismatch=true
}
