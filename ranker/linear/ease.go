// Package linear learns closed-form linear item-to-item models from the
// regularised inverse P = (XᵀX + λI)⁻¹ of the item co-occurrence Gram
// matrix, X the binary user×item matrix:
//
//   - EASE (Steck 2019): ridge regression of every item on all the others
//     with a zero diagonal, B = I - P·diag(1/diag(P)).
//   - Transitions: the "bought next" counts C (source items weighted by how
//     far back they lie, as in ranker/neighbors) decorrelated by P,
//     W = P·C: the ridge solution of predicting the next item from the
//     items before it, with the co-occurrence Gram standing in for the
//     sources' own Gram (the two differ only in how positions are weighted).
//
// Both dense solutions are sparsified to the strongest MaxNeighbors entries
// per item, in ranker/neighbors' compressed row layout, so serving adds a
// few hundred weights per history item.
//
// Cost: one dense m×m Cholesky factorisation and inverse (gonum LAPACK),
// where m is the number of kept items (at most MaxItems, the most frequent);
// memory peaks at about two m×m float64 matrices (16·m² bytes: 1.2 GB for
// m = 8,687, 1.6 GB at the default MaxItems of 10,000), independent of the
// number of interactions.
package linear

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"

	"github.com/tide-live/tide/ranker/neighbors"
)

// Config controls the fit.
type Config struct {
	// Lambda is the L2 penalty added to the Gram matrix's diagonal; 0
	// disables the linear models.
	Lambda float64
	// MinCount leaves out items in fewer training histories (they get no
	// row and no column).
	MinCount int
	// MaxItems keeps at most this many items, the most frequent; it bounds
	// the memory (16·MaxItems² bytes) and the cubic solve. 0 means 10,000.
	MaxItems int
	// MaxNeighbors is how many entries each item keeps per relation.
	MaxNeighbors int
	// MaxGap and GapDecay weight the sources of a transition: an item d
	// positions before the target counts GapDecay^(d-1), up to MaxGap
	// back. Items with the same timestamp count in both directions.
	MaxGap   int
	GapDecay float64
}

// DefaultConfig returns settings that work on the amazon-grocery data
// (EASE alone: validation HR@10 0.0871, test 0.0823, against 0.0655 / 0.0654
// for cosine co-occurrence). ranker.DefaultConfig leaves the linear models
// off: blended with the sequential neighbours they did not move the tuned
// validation HR@10 (0.1185 → 0.1186 at Lambda 20) and the solve takes 3 to
// 5 minutes on 2 shared cores.
func DefaultConfig() Config {
	return Config{Lambda: 50, MinCount: 1, MaxItems: 10000, MaxNeighbors: 200, MaxGap: 10, GapDecay: 0.85}
}

// ErrNotPositiveDefinite is returned when the regularised Gram matrix cannot
// be factorised (Lambda too small for the data).
var ErrNotPositiveDefinite = errors.New("linear: Gram matrix is not positive definite")

// Progress is called with a stage name and its done/total steps.
type Progress func(stage string, done, total int)

// Inverse is P = (XᵀX + λI)⁻¹ over the kept items.
type Inverse struct {
	// NumItems is the size of the item space the relations index.
	NumItems int
	// Kept lists the items with a row and column in P, by dense index.
	Kept []int32
	// P is the inverse, dense over Kept.
	P *mat.SymDense

	dense []int32 // item -> index in Kept, -1 if left out
}

// Solve builds the Gram matrix of seqs' item sets and inverts it.
func Solve(ctx context.Context, seqs []neighbors.Sequence, numItems int, cfg Config, progress Progress) (*Inverse, error) {
	if numItems <= 0 || len(seqs) == 0 {
		return nil, neighbors.ErrNoData
	}
	if cfg.Lambda <= 0 {
		return nil, fmt.Errorf("linear: Lambda %g must be positive", cfg.Lambda)
	}
	if cfg.MaxItems <= 0 {
		cfg.MaxItems = 10000
	}
	report := func(stage string, d, t int) {
		if progress != nil {
			progress(stage, d, t)
		}
	}
	count := make([]int, numItems)
	sets := make([][]int32, len(seqs))
	for i, s := range seqs {
		set := slices.Clone(s.Items)
		slices.Sort(set)
		set = slices.Compact(set)
		for _, it := range set {
			if it < 0 || int(it) >= numItems {
				return nil, fmt.Errorf("linear: item %d out of range [0,%d)", it, numItems)
			}
			count[it]++
		}
		sets[i] = set
	}
	inv := &Inverse{NumItems: numItems, dense: make([]int32, numItems)}
	var order []int32
	for it, c := range count {
		inv.dense[it] = -1
		if c > 0 && c >= cfg.MinCount {
			order = append(order, int32(it))
		}
	}
	if len(order) > cfg.MaxItems {
		slices.SortStableFunc(order, func(a, b int32) int { return count[b] - count[a] })
		order = order[:cfg.MaxItems]
		slices.Sort(order)
	}
	for d, it := range order {
		inv.dense[it] = int32(d)
	}
	inv.Kept = order
	m := len(order)
	if m < 2 {
		return nil, fmt.Errorf("linear: %d usable items: %w", m, neighbors.ErrNoData)
	}

	g := mat.NewSymDense(m, nil)
	raw := g.RawSymmetric()
	var idx []int
	for i, set := range sets {
		idx = idx[:0]
		for _, it := range set {
			if d := inv.dense[it]; d >= 0 {
				idx = append(idx, int(d))
			}
		}
		for x, a := range idx { // sorted, so a <= b: the upper triangle
			row := raw.Data[a*raw.Stride:]
			for _, b := range idx[x:] {
				row[b]++
			}
		}
		if i%4096 == 0 {
			report("linear gram", i, len(sets))
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("linear: cancelled: %w", err)
			}
		}
	}
	report("linear gram", len(sets), len(sets))
	for a := range m {
		raw.Data[a*raw.Stride+a] += cfg.Lambda
	}
	report("linear solve", 0, 2)
	var chol mat.Cholesky
	if ok := chol.Factorize(g); !ok {
		return nil, ErrNotPositiveDefinite
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("linear: cancelled: %w", err)
	}
	report("linear solve", 1, 2)
	if err := chol.InverseTo(g); err != nil { // overwrites the Gram's storage
		return nil, fmt.Errorf("linear: inverting: %w", err)
	}
	chol.Reset()
	report("linear solve", 2, 2)
	inv.P = g
	return inv, nil
}

// EASE returns the EASE weights B[a][b] = -P[a][b] / P[b][b] (a ≠ b),
// keeping each item's maxNeighbors largest positive entries: row a holds
// the items b a history containing a votes for.
func (inv *Inverse) EASE(ctx context.Context, maxNeighbors int, progress Progress) (neighbors.Relation, error) {
	m := len(inv.Kept)
	diag := make([]float64, m)
	for b := range m {
		diag[b] = inv.P.At(b, b)
	}
	raw := inv.P.RawSymmetric()
	return inv.rows(ctx, "linear ease", progress, func() func(int) []entry {
		row := make([]entry, 0, m)
		return func(a int) []entry {
			row = row[:0]
			// the upper triangle holds P[a][b] for b >= a, P[b][a] for b < a
			for b := range m {
				var p float64
				switch {
				case b < a:
					p = raw.Data[b*raw.Stride+a]
				case b > a:
					p = raw.Data[a*raw.Stride+b]
				default:
					continue
				}
				if w := -p / diag[b]; w > 0 {
					row = append(row, entry{inv.Kept[b], float32(w)})
				}
			}
			return topN(row, maxNeighbors)
		}
	})
}

// rows builds a Relation over all NumItems items from the sparse row of
// each kept item (by its dense index), computed on GOMAXPROCS goroutines;
// other items get empty rows. newRow returns a row function for one worker
// (so each worker owns its scratch).
func (inv *Inverse) rows(ctx context.Context, stage string, progress Progress, newRow func() func(a int) []entry) (neighbors.Relation, error) {
	m := len(inv.Kept)
	out := make([][]entry, m)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			row := newRow()
			for {
				a := int(next.Add(1) - 1)
				if a >= m || ctx.Err() != nil {
					return
				}
				out[a] = slices.Clone(row(a))
				if d := done.Add(1); progress != nil && d%512 == 0 {
					progress(stage, int(d), m)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return neighbors.Relation{}, fmt.Errorf("linear: cancelled: %w", err)
	}
	if progress != nil {
		progress(stage, m, m)
	}
	rel := neighbors.Relation{Off: make([]int32, inv.NumItems+1)}
	for it := range inv.NumItems {
		if a := int(inv.dense[it]); a >= 0 {
			for _, e := range out[a] {
				rel.Nbr = append(rel.Nbr, e.b)
				rel.W = append(rel.W, e.w)
			}
		}
		rel.Off[it+1] = int32(len(rel.Nbr))
	}
	return rel, nil
}

type entry struct {
	b int32
	w float32
}

// topN keeps the n strongest entries, strongest first, ties by item index.
func topN(es []entry, n int) []entry {
	slices.SortFunc(es, func(x, y entry) int {
		switch {
		case x.w > y.w:
			return -1
		case x.w < y.w:
			return 1
		}
		return int(x.b - y.b)
	})
	if len(es) > n {
		es = es[:n]
	}
	return es
}
