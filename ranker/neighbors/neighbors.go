// Package neighbors learns item-to-item relations from users' ordered
// histories: undirected co-occurrence (item-kNN with asymmetric-cosine
// normalisation) and directed sequential transitions ("bought next", weighted
// by the position gap). Each relation keeps the strongest MaxNeighbors
// entries per item in a compressed sparse row layout, so scoring a history is
// a few hundred multiply-adds per history item.
//
// The package works on dense int32 item indices and knows nothing about
// external ids; ranker builds on it.
package neighbors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Config controls what is counted and how it is normalised.
type Config struct {
	// MaxNeighbors is how many entries each item keeps per relation.
	MaxNeighbors int
	// CoWindow limits co-occurrence to pairs at most this many positions
	// apart; 0 counts every pair in a history.
	CoWindow int
	// CoAlpha is the asymmetric-cosine exponent: sim(a,b) =
	// C(a,b) / (n_a^CoAlpha * n_b^(1-CoAlpha)); 0.5 is the cosine.
	CoAlpha float64
	// MaxGap is how many positions after a an item b may come and still
	// count as a transition a→b.
	MaxGap int
	// GapDecay weights a transition d positions apart by GapDecay^(d-1).
	GapDecay float64
	// SameTimeBoth counts pairs with equal timestamps in both directions:
	// their order in the log is arbitrary (e.g. day-resolution timestamps).
	SameTimeBoth bool
	// SameTimeWeight multiplies transitions between items with equal
	// timestamps (bought together rather than one after the other); 0
	// means 1.
	SameTimeWeight float64
	// SeqBeta normalises a row of transitions by its total to this power.
	SeqBeta float64
	// SeqGamma divides a transition a→b by n_b^SeqGamma (damps popular targets).
	SeqGamma float64
}

// DefaultConfig returns the settings chosen on the validation split of the
// amazon-grocery data (see ranker/offline).
func DefaultConfig() Config {
	return Config{
		MaxNeighbors: 200,
		CoWindow:     0,
		CoAlpha:      0.5,
		MaxGap:       10,
		GapDecay:     0.85,
		SameTimeBoth: true,
		SeqBeta:      0.5,
		SeqGamma:     0,
	}
}

// Sequence is one user's history, oldest first. Times and Weights are
// optional (nil means unknown times and unit weights).
type Sequence struct {
	Items   []int32
	Times   []int64
	Weights []float32
}

// Relation is a sparse item×item matrix in compressed sparse row form: the
// entries of row a are Nbr[Off[a]:Off[a+1]] with weights W[Off[a]:Off[a+1]],
// strongest first.
type Relation struct {
	Off []int32
	Nbr []int32
	W   []float32
}

// Row returns the neighbours of item a and their weights.
func (r *Relation) Row(a int32) ([]int32, []float32) {
	lo, hi := r.Off[a], r.Off[a+1]
	return r.Nbr[lo:hi], r.W[lo:hi]
}

// AddRow adds w times row a into acc, which is indexed by item.
func (r *Relation) AddRow(a int32, w float32, acc []float32) {
	lo, hi := r.Off[a], r.Off[a+1]
	nbr, ws := r.Nbr[lo:hi], r.W[lo:hi]
	for j, b := range nbr {
		acc[b] += w * ws[j]
	}
}

// ClearRow zeroes acc at every neighbour of a (undoing AddRow cheaply).
func (r *Relation) ClearRow(a int32, acc []float32) {
	lo, hi := r.Off[a], r.Off[a+1]
	for _, b := range r.Nbr[lo:hi] {
		acc[b] = 0
	}
}

// Model is a trained pair of relations over NumItems items.
type Model struct {
	NumItems int
	Config   Config
	// Count is the weighted number of histories each item occurs in.
	Count []float32
	Co    Relation
	Seq   Relation
}

// ErrNoData is returned when there is nothing to learn from.
var ErrNoData = errors.New("neighbors: no interactions")

// Train counts co-occurrences and transitions over seqs. progress, if not
// nil, is called with the number of items done so far.
func Train(ctx context.Context, seqs []Sequence, numItems int, cfg Config, progress func(done, total int)) (*Model, error) {
	if numItems <= 0 || len(seqs) == 0 {
		return nil, ErrNoData
	}
	if cfg.MaxNeighbors <= 0 {
		return nil, fmt.Errorf("neighbors: MaxNeighbors %d must be positive", cfg.MaxNeighbors)
	}
	// occurrences of each item: (sequence, position)
	type occ struct{ s, p int32 }
	counts := make([]int32, numItems+1)
	itemCount := make([]float32, numItems)
	for _, s := range seqs {
		for p, it := range s.Items {
			if it < 0 || int(it) >= numItems {
				return nil, fmt.Errorf("neighbors: item %d out of range [0,%d)", it, numItems)
			}
			counts[it+1]++
			itemCount[it] += weightAt(s, p)
		}
	}
	for i := 1; i <= numItems; i++ {
		counts[i] += counts[i-1]
	}
	occs := make([]occ, counts[numItems])
	fill := slices.Clone(counts[:numItems])
	for si, s := range seqs {
		for p, it := range s.Items {
			occs[fill[it]] = occ{int32(si), int32(p)}
			fill[it]++
		}
	}

	m := &Model{NumItems: numItems, Config: cfg, Count: itemCount}
	coRows := make([][]entry, numItems)
	seqRows := make([][]entry, numItems)
	sameW := float32(cfg.SameTimeWeight)
	if sameW == 0 {
		sameW = 1
	}
	decay := make([]float32, cfg.MaxGap+1)
	for d := 1; d <= cfg.MaxGap; d++ {
		decay[d] = float32(math.Pow(cfg.GapDecay, float64(d-1)))
	}

	var next, done atomic.Int64
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			co := make([]float32, numItems)
			sq := make([]float32, numItems)
			var touched []int32
			mark := make([]bool, numItems)
			for {
				a := int(next.Add(1) - 1)
				if a >= numItems || ctx.Err() != nil {
					return
				}
				touched = touched[:0]
				for _, o := range occs[counts[a]:counts[a+1]] {
					s := seqs[o.s]
					wa := weightAt(s, int(o.p))
					for q, b := range s.Items {
						d := q - int(o.p)
						if d == 0 || b == int32(a) {
							continue
						}
						w := wa * weightAt(s, q)
						counted := false
						if cfg.CoWindow == 0 || abs(d) <= cfg.CoWindow {
							co[b] += w
							counted = true
						}
						same := s.Times != nil && s.Times[q] == s.Times[o.p]
						if same {
							w *= sameW
						}
						switch {
						case d > 0 && d <= cfg.MaxGap:
							sq[b] += w * decay[d]
							counted = true
						case d < 0 && -d <= cfg.MaxGap && cfg.SameTimeBoth && same:
							sq[b] += w * decay[-d]
							counted = true
						}
						if counted && !mark[b] {
							mark[b] = true
							touched = append(touched, b)
						}
					}
				}
				coRows[a] = normaliseCo(a, touched, co, itemCount, cfg)
				seqRows[a] = normaliseSeq(touched, sq, itemCount, cfg)
				for _, b := range touched {
					co[b], sq[b], mark[b] = 0, 0, false
				}
				if n := done.Add(1); progress != nil && n%1024 == 0 {
					progress(int(n), numItems)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("neighbors: training cancelled: %w", err)
	}
	if progress != nil {
		progress(numItems, numItems)
	}
	m.Co = pack(coRows)
	m.Seq = pack(seqRows)
	return m, nil
}

type entry struct {
	b int32
	w float32
}

func normaliseCo(a int, touched []int32, co []float32, n []float32, cfg Config) []entry {
	out := make([]entry, 0, len(touched))
	na := math.Pow(float64(n[a]), cfg.CoAlpha)
	for _, b := range touched {
		if c := co[b]; c > 0 {
			den := na * math.Pow(float64(n[b]), 1-cfg.CoAlpha)
			out = append(out, entry{b, float32(float64(c) / den)})
		}
	}
	return topN(out, cfg.MaxNeighbors)
}

func normaliseSeq(touched []int32, sq []float32, n []float32, cfg Config) []entry {
	var total float64
	for _, b := range touched {
		total += float64(sq[b])
	}
	if total == 0 {
		return nil
	}
	norm := math.Pow(total, cfg.SeqBeta)
	out := make([]entry, 0, len(touched))
	for _, b := range touched {
		if c := sq[b]; c > 0 {
			w := float64(c) / norm
			if cfg.SeqGamma != 0 {
				w /= math.Pow(float64(n[b]), cfg.SeqGamma)
			}
			out = append(out, entry{b, float32(w)})
		}
	}
	return topN(out, cfg.MaxNeighbors)
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

func pack(rows [][]entry) Relation {
	total := 0
	for _, r := range rows {
		total += len(r)
	}
	rel := Relation{Off: make([]int32, len(rows)+1), Nbr: make([]int32, 0, total), W: make([]float32, 0, total)}
	for a, r := range rows {
		for _, e := range r {
			rel.Nbr = append(rel.Nbr, e.b)
			rel.W = append(rel.W, e.w)
		}
		rel.Off[a+1] = int32(len(rel.Nbr))
	}
	return rel
}

func weightAt(s Sequence, p int) float32 {
	if s.Weights == nil || s.Weights[p] == 0 {
		return 1
	}
	return s.Weights[p]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
