package offline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/tide-live/tide/ranker"
)

// Metrics are averages over evaluated cases.
type Metrics struct {
	HR    float64 // hit rate at K: share of targets ranked in the top K
	NDCG  float64 // normalised DCG at K with one relevant item: 1/log2(rank+2)
	Users int     // cases evaluated
}

// String formats the metrics as "HR@10 0.1234  NDCG@10 0.0567".
func (m Metrics) String() string { return fmt.Sprintf("HR %.4f  NDCG %.4f", m.HR, m.NDCG) }

// Gain returns the hit and NDCG contributions of a target at 0-based rank
// when the cut-off is k.
func Gain(rank, k int) (hit, ndcg float64) {
	if rank < 0 || rank >= k {
		return 0, 0
	}
	return 1, 1 / math.Log2(float64(rank)+2)
}

// Scorer is what the harness evaluates: scores for every item given a
// history. *ranker.Model implements it.
type Scorer interface {
	NumItems() int
	ScoreAll(h ranker.History, out []float32)
}

// ahead reports whether item a with score sa ranks before item b with score
// sb: higher score first, ties to the lower item index (as ranker.TopK).
func ahead(sa float32, a int, sb float32, b int) bool {
	return sa > sb || (sa == sb && a < b)
}

// FullRank returns the 0-based rank of target among all items not in h.
func FullRank(scores []float32, h ranker.History, target ranker.ItemID, excluded []bool) int {
	for _, e := range h {
		excluded[e.Item] = true
	}
	t := int(target)
	st := scores[t]
	rank := 0
	for i, s := range scores {
		if i != t && !excluded[i] && ahead(s, i, st, t) {
			rank++
		}
	}
	for _, e := range h {
		excluded[e.Item] = false
	}
	return rank
}

// SampledRank returns the 0-based rank of target among itself and n items
// drawn without replacement, uniformly from the items neither in h nor the
// target, using rng.
func SampledRank(scores []float32, h ranker.History, target ranker.ItemID, n int, rng *rand.Rand, excluded []bool) int {
	for _, e := range h {
		excluded[e.Item] = true
	}
	excluded[target] = true
	t := int(target)
	rank, drawn := 0, 0
	var picked []int
	for drawn < n && drawn+len(h)+1 < len(scores) {
		i := rng.IntN(len(scores))
		if excluded[i] {
			continue
		}
		excluded[i] = true
		picked = append(picked, i)
		drawn++
		if ahead(scores[i], i, scores[t], t) {
			rank++
		}
	}
	for _, i := range picked {
		excluded[i] = false
	}
	for _, e := range h {
		excluded[e.Item] = false
	}
	excluded[target] = false
	return rank
}

// EvalOptions configure Evaluate.
type EvalOptions struct {
	K int // cut-off; 10 if 0
	// Negatives > 0 ranks each target against that many sampled negatives
	// instead of all items.
	Negatives int
	// Seed makes negative sampling reproducible: case i draws from a
	// generator seeded with (Seed, i), whatever the scheduling.
	Seed uint64
	// Progress, if set, is called with the number of cases done.
	Progress func(done, total int)
}

// Evaluate scores every case with s and averages HR@K and NDCG@K.
func Evaluate(ctx context.Context, s Scorer, cases []Case, o EvalOptions) (Metrics, error) {
	k := o.K
	if k == 0 {
		k = 10
	}
	ranks, err := Ranks(ctx, s, cases, o)
	if err != nil {
		return Metrics{}, err
	}
	return At(ranks, k), nil
}

// Ranks scores every case with s and returns the target's 0-based rank in
// each, against all items or, with o.Negatives > 0, sampled negatives.
// Computing ranks once gives metrics at any cut-off (see At).
func Ranks(ctx context.Context, s Scorer, cases []Case, o EvalOptions) ([]int, error) {
	n := s.NumItems()
	for i, c := range cases {
		if c.Target < 0 || int(c.Target) >= n {
			return nil, fmt.Errorf("offline: case %d: target %d unknown to the model", i, c.Target)
		}
		for _, e := range c.History {
			if e.Item < 0 || int(e.Item) >= n {
				return nil, fmt.Errorf("offline: case %d: history item %d unknown to the model", i, e.Item)
			}
		}
	}
	ranks := make([]int, len(cases))
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scores := make([]float32, n)
			excluded := make([]bool, n)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cases) || ctx.Err() != nil {
					return
				}
				c := cases[i]
				s.ScoreAll(c.History, scores)
				if o.Negatives > 0 {
					rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
					ranks[i] = SampledRank(scores, c.History, c.Target, o.Negatives, rng, excluded)
				} else {
					ranks[i] = FullRank(scores, c.History, c.Target, excluded)
				}
				if d := done.Add(1); o.Progress != nil && d%2048 == 0 {
					o.Progress(int(d), len(cases))
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("offline: evaluation cancelled: %w", err)
	}
	return ranks, nil
}

// At averages HR@k and NDCG@k over 0-based ranks.
func At(ranks []int, k int) Metrics {
	gains := make([][2]float64, len(ranks))
	for i, r := range ranks {
		h, g := Gain(r, k)
		gains[i] = [2]float64{h, g}
	}
	return average(gains)
}
