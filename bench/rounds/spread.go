package rounds

import (
	"fmt"
	"slices"
)

// Spread is one side's results over the rounds: the median a ratio rests
// on, and the lowest and highest round, so a reader sees how much the
// machine's other load moved it.
type Spread struct {
	Median, Min, Max float64
	Runs             []float64 // in round order
}

// Summarize is the spread of xs (zero for none). xs is not changed.
func Summarize(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	return Spread{Median: Median(xs), Min: slices.Min(xs), Max: slices.Max(xs), Runs: slices.Clone(xs)}
}

// String is e.g. "median 443465 (min 401200, max 460311, 5 rounds)";
// figures of 1000 and above have no decimals, smaller ones two.
func (s Spread) String() string {
	return fmt.Sprintf("median %s (min %s, max %s, %d rounds)", num(s.Median), num(s.Min), num(s.Max), len(s.Runs))
}

func num(x float64) string {
	if x >= 1000 || x <= -1000 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// Run is Medians for sides that can fail: every side once a round for n
// rounds (at least Min), a different side first each round, stopping at the
// first error. It returns each side's spread, in the order of sides.
func Run(n int, sides ...func() (float64, error)) ([]Spread, error) {
	n = max(n, Min)
	runs := make([][]float64, len(sides))
	for round := range n {
		for i := range sides {
			k := (round + i) % len(sides)
			x, err := sides[k]()
			if err != nil {
				return nil, fmt.Errorf("round %d of %d, side %d: %w", round+1, n, k+1, err)
			}
			runs[k] = append(runs[k], x)
		}
	}
	out := make([]Spread, len(sides))
	for k := range runs {
		out[k] = Summarize(runs[k])
	}
	return out, nil
}
