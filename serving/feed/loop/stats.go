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

// Result is the outcome of a run, per arm and per user.
type Result struct {
	Rounds int
	arms   map[string]*ArmStats
	users  map[string]*userCounts
}

// userCounts are one user's responses: the user, not the impression, is
// the unit of randomisation, so the tests cluster by user.
type userCounts struct {
	arm                         string
	impressions, enters, orders int64
}

func newResult() *Result {
	return &Result{arms: map[string]*ArmStats{}, users: map[string]*userCounts{}}
}

func (r *Result) addUser(user, arm string, imps, enters, orders int64) {
	u, ok := r.users[user]
	if !ok {
		u = &userCounts{arm: arm}
		r.users[user] = u
	}
	u.impressions += imps
	u.enters += enters
	u.orders += orders
}

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

// RatioVariance is the delta-method variance of the ratio metric
// Σy/Σn over independent units (users) with counts y[i] out of n[i]:
// Σ(y_i − R·n_i)² / (Σn)² · N/(N−1). Impressions of one user are not
// independent, so this, not p(1−p)/n, is the variance a test of an A/B
// split by user needs. Fewer than two units give +Inf.
func RatioVariance(y, n []int64) float64 {
	var sy, sn int64
	for i := range y {
		sy += y[i]
		sn += n[i]
	}
	if len(y) < 2 || sn == 0 {
		return math.Inf(1)
	}
	r := float64(sy) / float64(sn)
	var ss float64
	for i := range y {
		d := float64(y[i]) - r*float64(n[i])
		ss += d * d
	}
	k := float64(len(y))
	return ss / (float64(sn) * float64(sn)) * k / (k - 1)
}

// Comparison is the treatment arm against the control arm on one rate.
type Comparison struct {
	Control, Treatment float64 // the rates
	Lift               float64 // Treatment/Control - 1 (NaN when Control is 0)
	Z, P               float64 // two-proportion z-test (impressions as independent trials)
	ZUser, PUser       float64 // z-test clustered by user (delta method): the one to trust
}

// Significant reports whether the treatment is better at level alpha by
// the user-clustered test.
func (c Comparison) Significant(alpha float64) bool { return c.ZUser > 0 && c.PUser < alpha }

// compare compares the rate metric(u)/impressions of the two arms.
func (r *Result) compare(control, treatment string, metric func(u *userCounts) int64) Comparison {
	var y, n [2][]int64
	for _, u := range r.users {
		k := -1
		switch u.arm {
		case control:
			k = 0
		case treatment:
			k = 1
		}
		if k >= 0 && u.impressions > 0 {
			y[k], n[k] = append(y[k], metric(u)), append(n[k], u.impressions)
		}
	}
	sum := func(l []int64) (s int64) {
		for _, v := range l {
			s += v
		}
		return s
	}
	k1, n1, k2, n2 := sum(y[0]), sum(n[0]), sum(y[1]), sum(n[1])
	c := Comparison{Control: ratio(k1, n1), Treatment: ratio(k2, n2), Lift: math.NaN(), PUser: 1}
	if c.Control > 0 {
		c.Lift = c.Treatment/c.Control - 1
	}
	c.Z, c.P = TwoProportion(k1, n1, k2, n2)
	if se := math.Sqrt(RatioVariance(y[0], n[0]) + RatioVariance(y[1], n[1])); se > 0 && !math.IsInf(se, 1) {
		c.ZUser = (c.Treatment - c.Control) / se
		c.PUser = math.Erfc(math.Abs(c.ZUser) / math.Sqrt2)
	}
	return c
}

// CTR compares the click-through rates of arms treatment and control.
func (r *Result) CTR(control, treatment string) Comparison {
	return r.compare(control, treatment, func(u *userCounts) int64 { return u.enters })
}

// OrderRate compares the order rates of arms treatment and control.
func (r *Result) OrderRate(control, treatment string) Comparison {
	return r.compare(control, treatment, func(u *userCounts) int64 { return u.orders })
}

// Report prints one line per arm (impressions, CTR and order rate with 95%
// Wilson intervals), the comparisons of treatment with control (the
// user-clustered test and the two-proportion z-test) and a verdict line; it
// returns whether the treatment wins on CTR at p < alpha by the
// user-clustered test.
func (r *Result) Report(w io.Writer, control, treatment string, alpha float64) bool {
	for _, a := range r.Arms() {
		clo, chi := Wilson(a.Enters, a.Impressions, Z95)
		olo, ohi := Wilson(a.Orders, a.Impressions, Z95)
		fmt.Fprintf(w, "arm=%s requests=%d impressions=%d enters=%d orders=%d ctr=%.4f [%.4f,%.4f] order_rate=%.4f [%.4f,%.4f] gmv_yuan=%.0f\n",
			a.Name, a.Requests, a.Impressions, a.Enters, a.Orders, a.CTR(), clo, chi, a.OrderRate(), olo, ohi, float64(a.GMVFen)/100)
	}
	ctr, ord := r.CTR(control, treatment), r.OrderRate(control, treatment)
	fmt.Fprintf(w, "%s vs %s: ctr lift %+.1f%% (by user z=%.2f p=%.3g; per impression z=%.2f p=%.3g)  order_rate lift %+.1f%% (by user z=%.2f p=%.3g; per impression z=%.2f p=%.3g)\n",
		treatment, control, 100*ctr.Lift, ctr.ZUser, ctr.PUser, ctr.Z, ctr.P, 100*ord.Lift, ord.ZUser, ord.PUser, ord.Z, ord.P)
	win := ctr.Significant(alpha)
	switch {
	case win && ord.Significant(alpha):
		fmt.Fprintf(w, "verdict: %s wins on CTR and order rate (p < %g)\n", treatment, alpha)
	case win:
		fmt.Fprintf(w, "verdict: %s wins on CTR (p < %g); order rate not significant\n", treatment, alpha)
	case ctr.ZUser < 0 && ctr.PUser < alpha:
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
