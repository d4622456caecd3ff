package loop

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
)

// Z95 is the normal quantile of a two-sided 95% interval.
const Z95 = 1.959963984540054

// ArmStats counts the responses to one arm's feeds.
type ArmStats struct {
	Name        string
	Requests    int64
	Impressions int64 // live rooms shown
	Enters      int64
	Orders      int64
	GMVFen      int64
}

// CTR is enters per impression.
func (a ArmStats) CTR() float64 { return ratio(a.Enters, a.Impressions) }

// OrderRate is orders per impression.
func (a ArmStats) OrderRate() float64 { return ratio(a.Orders, a.Impressions) }

// Result is the outcome of a run, per arm.
type Result struct {
	Rounds int
	arms   map[string]*ArmStats
}

func newResult() *Result { return &Result{arms: map[string]*ArmStats{}} }

func (r *Result) arm(name string) *ArmStats {
	a, ok := r.arms[name]
	if !ok {
		a = &ArmStats{Name: name}
		r.arms[name] = a
	}
	return a
}

// Arm returns the counts of the named arm (zero if no user was in it).
func (r *Result) Arm(name string) ArmStats {
	if a, ok := r.arms[name]; ok {
		return *a
	}
	return ArmStats{Name: name}
}

// Arms lists the arms by name.
func (r *Result) Arms() []ArmStats {
	out := make([]ArmStats, 0, len(r.arms))
	for _, a := range r.arms {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b ArmStats) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Wilson is the Wilson score interval of the proportion k/n at normal
// quantile z (Z95 for 95%). n = 0 gives [0, 1].
func Wilson(k, n int64, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	mid := (p + z2/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return max(0, mid-half), min(1, mid+half)
}

// TwoProportion is the pooled two-proportion z-test of k1/n1 against k2/n2:
// z > 0 when the second proportion is higher, and the two-sided p-value.
// Degenerate samples (an empty arm, or no variance) give z = 0, p = 1.
func TwoProportion(k1, n1, k2, n2 int64) (z, p float64) {
	if n1 <= 0 || n2 <= 0 {
		return 0, 1
	}
	p1, p2 := float64(k1)/float64(n1), float64(k2)/float64(n2)
	pool := float64(k1+k2) / float64(n1+n2)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 0, 1
	}
	z = (p2 - p1) / se
	return z, math.Erfc(math.Abs(z) / math.Sqrt2)
}

// Comparison is the treatment arm against the control arm on one rate.
type Comparison struct {
	Control, Treatment float64 // the rates
	Lift               float64 // Treatment/Control - 1 (NaN when Control is 0)
	Z, P               float64 // two-proportion z-test
}

// Significant reports whether the treatment is better at level alpha.
func (c Comparison) Significant(alpha float64) bool { return c.Z > 0 && c.P < alpha }

func compare(k1, n1, k2, n2 int64) Comparison {
	c := Comparison{Control: ratio(k1, n1), Treatment: ratio(k2, n2), Lift: math.NaN()}
	if c.Control > 0 {
		c.Lift = c.Treatment/c.Control - 1
	}
	c.Z, c.P = TwoProportion(k1, n1, k2, n2)
	return c
}

// CTR compares the click-through rates of arms treatment and control.
func (r *Result) CTR(control, treatment string) Comparison {
	c, t := r.Arm(control), r.Arm(treatment)
	return compare(c.Enters, c.Impressions, t.Enters, t.Impressions)
}

// OrderRate compares the order rates of arms treatment and control.
func (r *Result) OrderRate(control, treatment string) Comparison {
	c, t := r.Arm(control), r.Arm(treatment)
	return compare(c.Orders, c.Impressions, t.Orders, t.Impressions)
}

// Report prints one line per arm (impressions, CTR and order rate with 95%
// Wilson intervals), the comparisons of treatment with control and a
// verdict line; it returns whether the treatment wins on CTR at p < alpha.
func (r *Result) Report(w io.Writer, control, treatment string, alpha float64) bool {
	for _, a := range r.Arms() {
		clo, chi := Wilson(a.Enters, a.Impressions, Z95)
		olo, ohi := Wilson(a.Orders, a.Impressions, Z95)
		fmt.Fprintf(w, "arm=%s requests=%d impressions=%d enters=%d orders=%d ctr=%.4f [%.4f,%.4f] order_rate=%.4f [%.4f,%.4f] gmv_yuan=%.0f\n",
			a.Name, a.Requests, a.Impressions, a.Enters, a.Orders, a.CTR(), clo, chi, a.OrderRate(), olo, ohi, float64(a.GMVFen)/100)
	}
	ctr, ord := r.CTR(control, treatment), r.OrderRate(control, treatment)
	fmt.Fprintf(w, "%s vs %s: ctr lift %+.1f%% (z=%.2f, p=%.3g)  order_rate lift %+.1f%% (z=%.2f, p=%.3g)\n",
		treatment, control, 100*ctr.Lift, ctr.Z, ctr.P, 100*ord.Lift, ord.Z, ord.P)
	win := ctr.Significant(alpha)
	switch {
	case win && ord.Significant(alpha):
		fmt.Fprintf(w, "verdict: %s wins on CTR and order rate (p < %g)\n", treatment, alpha)
	case win:
		fmt.Fprintf(w, "verdict: %s wins on CTR (p < %g); order rate not significant\n", treatment, alpha)
	case ctr.Z < 0 && ctr.P < alpha:
		fmt.Fprintf(w, "verdict: %s LOSES on CTR (p < %g)\n", treatment, alpha)
	default:
		fmt.Fprintf(w, "verdict: no significant difference in CTR at p < %g\n", alpha)
	}
	return win
}

func ratio(k, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(k) / float64(n)
}
