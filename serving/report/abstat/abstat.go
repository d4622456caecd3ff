// Package abstat is the statistics of A/B reports: ratio metrics per unit
// with delta-method standard errors, the relative lift of a treatment
// against control with its confidence interval, and the chi-squared sample
// ratio mismatch check. It is pure: sums in, estimates out.
//
// A metric is a ratio of per-unit sums, Σx / Σy over the N units (viewers)
// of an arm: click-through is clicks over impressions, order rate is buyers
// over exposed viewers (y = 1 for every unit), GMV per viewer is GMV over
// exposed viewers. Units are the randomisation unit, so the variance of the
// ratio comes from the delta method on the unit-level means.
package abstat

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Sums are the unit-level sums of one arm for one ratio metric: N units,
// and Σx, Σy, Σx², Σy², Σxy of their numerators x and denominators y.
type Sums struct {
	N                float64
	X, Y, XX, YY, XY float64
}

// MeanSums returns the Sums of a mean metric (y = 1 for every unit) from
// N units with Σx and Σx².
func MeanSums(n, x, xx float64) Sums {
	return Sums{N: n, X: x, Y: n, XX: xx, YY: n, XY: x}
}

// Estimate is a ratio metric of one arm.
type Estimate struct {
	Value  float64 // Σx / Σy
	StdErr float64 // delta-method standard error of Value
}

// Ratio estimates Σx/Σy and its delta-method standard error:
//
//	Var(x̄/ȳ) ≈ (σx² − 2R·σxy + R²·σy²) / (N·ȳ²),  R = x̄/ȳ
//
// with sample (co)variances. It returns a zero Estimate when Σy is 0, and a
// zero standard error with fewer than two units.
func Ratio(s Sums) Estimate {
	if s.N <= 0 || s.Y == 0 {
		return Estimate{}
	}
	r := s.X / s.Y
	if s.N < 2 {
		return Estimate{Value: r}
	}
	mx, my := s.X/s.N, s.Y/s.N
	vx := (s.XX - s.N*mx*mx) / (s.N - 1)
	vy := (s.YY - s.N*my*my) / (s.N - 1)
	cxy := (s.XY - s.N*mx*my) / (s.N - 1)
	v := (vx - 2*r*cxy + r*r*vy) / (s.N * my * my)
	if v < 0 { // rounding on a constant metric
		v = 0
	}
	return Estimate{Value: r, StdErr: math.Sqrt(v)}
}

// Lift is a treatment against control.
type Lift struct {
	Relative    float64 // (t − c) / c
	Low, High   float64 // confidence interval of Relative
	Significant bool    // the interval excludes 0
}

// RelativeLift is (t − c)/c with a two-sided interval at confidence level
// (e.g. 0.95), by the delta method on t/c for independent arms:
//
//	Var(t/c) ≈ Var(t)/c² + t²·Var(c)/c⁴
//
// It returns a zero Lift when the control value is 0.
func RelativeLift(t, c Estimate, level float64) Lift {
	if c.Value == 0 {
		return Lift{}
	}
	rel := t.Value/c.Value - 1
	se := math.Sqrt(t.StdErr*t.StdErr/(c.Value*c.Value) +
		t.Value*t.Value*c.StdErr*c.StdErr/math.Pow(c.Value, 4))
	z := distuv.UnitNormal.Quantile(1 - (1-level)/2)
	l := Lift{Relative: rel, Low: rel - z*se, High: rel + z*se}
	l.Significant = se > 0 && (l.Low > 0 || l.High < 0)
	return l
}

// SRMThreshold is the p-value under which a sample ratio mismatch is
// reported (the GrowthBook and Statsig default).
const SRMThreshold = 0.001

// SRM is the result of a sample ratio mismatch check.
type SRM struct {
	ChiSquared float64
	PValue     float64
	Mismatch   bool // PValue < SRMThreshold
}

// ErrSRMInput is wrapped by SampleRatio's errors.
var ErrSRMInput = errors.New("sample ratio check")

// SampleRatio runs Pearson's chi-squared goodness-of-fit test of the
// observed units per arm against the planned weights (any positive scale;
// nil means equal), with len(observed)−1 degrees of freedom.
func SampleRatio(observed, weights []float64) (SRM, error) {
	k := len(observed)
	if k < 2 {
		return SRM{}, fmt.Errorf("%w: need at least two arms, have %d", ErrSRMInput, k)
	}
	if weights == nil {
		weights = make([]float64, k)
		for i := range weights {
			weights[i] = 1
		}
	}
	if len(weights) != k {
		return SRM{}, fmt.Errorf("%w: %d weights for %d arms", ErrSRMInput, len(weights), k)
	}
	var n, w float64
	for i := range observed {
		if weights[i] <= 0 || observed[i] < 0 {
			return SRM{}, fmt.Errorf("%w: arm %d has weight %v and %v units", ErrSRMInput, i, weights[i], observed[i])
		}
		n += observed[i]
		w += weights[i]
	}
	if n == 0 {
		return SRM{PValue: 1}, nil
	}
	var chi float64
	for i := range observed {
		e := n * weights[i] / w
		d := observed[i] - e
		chi += d * d / e
	}
	p := distuv.ChiSquared{K: float64(k - 1)}.Survival(chi)
	return SRM{ChiSquared: chi, PValue: p, Mismatch: p < SRMThreshold}, nil
}
