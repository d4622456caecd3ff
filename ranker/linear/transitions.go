package linear

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/tide-live/tide/ranker/neighbors"
)

// Transitions returns W = P·C, C the transition counts of seqs: C[a][b]
// sums GapDecay^(d-1) over every a that comes d ≤ MaxGap positions before b
// in a history (both ways when their timestamps are equal). Row a of the
// result holds the maxNeighbors items b with the largest positive W[a][b].
// Sources outside the kept items are dropped; targets may be any item.
func (inv *Inverse) Transitions(ctx context.Context, seqs []neighbors.Sequence, cfg Config, progress Progress) (neighbors.Relation, error) {
	if cfg.MaxGap <= 0 || cfg.MaxNeighbors <= 0 {
		return neighbors.Relation{}, fmt.Errorf("linear: MaxGap %d and MaxNeighbors %d must be positive", cfg.MaxGap, cfg.MaxNeighbors)
	}
	m := len(inv.Kept)
	decay := make([]float32, cfg.MaxGap+1)
	for d := 1; d <= cfg.MaxGap; d++ {
		decay[d] = float32(math.Pow(cfg.GapDecay, float64(d-1)))
	}
	src := make([][]entry, m) // C's rows by dense source index
	add := func(a, b int32, w float32) {
		if a == b || int(b) >= inv.NumItems || b < 0 {
			return
		}
		if k := inv.dense[a]; k >= 0 {
			src[k] = append(src[k], entry{b, w})
		}
	}
	for i, s := range seqs {
		for q, b := range s.Items {
			for p := max(0, q-cfg.MaxGap); p < q; p++ {
				a := s.Items[p]
				if a < 0 || int(a) >= inv.NumItems {
					return neighbors.Relation{}, fmt.Errorf("linear: item %d out of range [0,%d)", a, inv.NumItems)
				}
				w := decay[q-p]
				add(a, b, w)
				if s.Times != nil && s.Times[p] == s.Times[q] {
					add(b, a, w)
				}
			}
		}
		if i%4096 == 0 && progress != nil {
			progress("linear transitions", i, len(seqs))
		}
	}
	for k, r := range src { // merge duplicate targets
		slices.SortFunc(r, func(x, y entry) int { return int(x.b - y.b) })
		out := r[:0]
		for _, e := range r {
			if n := len(out); n > 0 && out[n-1].b == e.b {
				out[n-1].w += e.w
				continue
			}
			out = append(out, e)
		}
		src[k] = out
	}
	raw := inv.P.RawSymmetric()
	return inv.rows(ctx, "linear transitions", progress, func() func(int) []entry {
		acc := make([]float64, inv.NumItems)
		mark := make([]bool, inv.NumItems)
		var touched []int32
		row := make([]entry, 0, inv.NumItems)
		return func(a int) []entry {
			touched = touched[:0]
			for k, r := range src {
				if len(r) == 0 {
					continue
				}
				var p float64
				if k < a {
					p = raw.Data[k*raw.Stride+a]
				} else {
					p = raw.Data[a*raw.Stride+k]
				}
				for _, e := range r {
					if !mark[e.b] {
						mark[e.b] = true
						touched = append(touched, e.b)
					}
					acc[e.b] += p * float64(e.w)
				}
			}
			row = row[:0]
			for _, b := range touched {
				if w := acc[b]; w > 0 && int(b) != int(inv.Kept[a]) {
					row = append(row, entry{b, float32(w)})
				}
				acc[b], mark[b] = 0, false
			}
			return topN(row, cfg.MaxNeighbors)
		}
	})
}
