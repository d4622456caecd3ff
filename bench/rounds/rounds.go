// Package rounds times a real code path and its raw limit the same way, so
// that a ratio of the two cannot come from noise on a shared machine: in
// interleaved rounds, a different side first each round, reporting the
// median of each side's rounds.
package rounds

import "sort"

// Min is the fewest rounds a ratio may rest on.
const Min = 5

// Medians runs every side once a round for n rounds (at least Min; fewer
// are raised to Min), starting each round with the next side, and returns
// the median of each side's results, in the order of sides. A side returns
// its measurement of that round (a rate or a time per operation).
func Medians(n int, sides ...func() float64) []float64 {
	n = max(n, Min)
	runs := make([][]float64, len(sides))
	for round := range n {
		for i := range sides {
			k := (round + i) % len(sides)
			runs[k] = append(runs[k], sides[k]())
		}
	}
	out := make([]float64, len(sides))
	for k := range runs {
		out[k] = Median(runs[k])
	}
	return out
}

// Median is the middle of xs (the mean of the two middle values for an even
// count); 0 for none. xs is not changed.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
