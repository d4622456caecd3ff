package linear

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/tide-live/tide/ranker/neighbors"
)

// randomSeqs makes n histories over items, with a planted chain 0→1→2 in
// every third history so the relations have something to find.
func randomSeqs(n, items int, seed uint64) []neighbors.Sequence {
	rng := rand.New(rand.NewPCG(seed, 1))
	seqs := make([]neighbors.Sequence, n)
	for i := range seqs {
		var s neighbors.Sequence
		if i%3 == 0 {
			s.Items = append(s.Items, 0, 1, 2)
		}
		for range 1 + rng.IntN(5) {
			s.Items = append(s.Items, int32(3+rng.IntN(items-3)))
		}
		rng.Shuffle(len(s.Items), func(a, b int) {
			if i%3 != 0 {
				s.Items[a], s.Items[b] = s.Items[b], s.Items[a]
			}
		})
		s.Times = make([]int64, len(s.Items))
		for p := range s.Times {
			s.Times[p] = int64(p)
		}
		seqs[i] = s
	}
	return seqs
}

// binary returns the user×item matrix of seqs' item sets.
func binary(seqs []neighbors.Sequence, items int) *mat.Dense {
	x := mat.NewDense(len(seqs), items, nil)
	for u, s := range seqs {
		for _, it := range s.Items {
			x.Set(u, int(it), 1)
		}
	}
	return x
}

func weight(rel neighbors.Relation, a, b int32) (float32, bool) {
	nbr, w := rel.Row(a)
	for j, x := range nbr {
		if x == b {
			return w[j], true
		}
	}
	return 0, false
}

// TestEASEIsRidgeRegression checks every kept weight against the ridge
// regression of item b on all other items, solved directly.
func TestEASEIsRidgeRegression(t *testing.T) {
	const items, lambda = 12, 3.0
	seqs := randomSeqs(200, items, 7)
	cfg := Config{Lambda: lambda, MaxNeighbors: items, MaxGap: 2, GapDecay: 0.5}
	inv, err := Solve(context.Background(), seqs, items, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := inv.EASE(context.Background(), items, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := binary(seqs, items)
	for b := range items {
		// regress column b on the other columns: (AᵀA + λI) β = Aᵀ x_b
		var others []int
		for a := range items {
			if a != b {
				others = append(others, a)
			}
		}
		a := mat.NewDense(len(seqs), len(others), nil)
		for j, c := range others {
			a.SetCol(j, mat.Col(nil, c, x))
		}
		var gram mat.Dense
		gram.Mul(a.T(), a)
		for j := range others {
			gram.Set(j, j, gram.At(j, j)+lambda)
		}
		var rhs, beta mat.VecDense
		rhs.MulVec(a.T(), x.ColView(b))
		if err := beta.SolveVec(&gram, &rhs); err != nil {
			t.Fatal(err)
		}
		for j, c := range others {
			want := beta.AtVec(j)
			got, ok := weight(rel, int32(c), int32(b))
			if want > 1e-9 && (!ok || math.Abs(float64(got)-want) > 1e-4) {
				t.Errorf("B[%d][%d] = %v (kept %v), want %.6f", c, b, got, ok, want)
			}
			if want <= 0 && ok {
				t.Errorf("B[%d][%d] = %v kept, but the solution is %.6f (not positive)", c, b, got, want)
			}
		}
	}
	if w, ok := weight(rel, 0, 1); !ok || w < 0.1 {
		t.Errorf("planted pair 0,1 weight %v", w)
	}
}

// TestTransitionsIsPTimesCounts checks W = P·C against a dense product.
func TestTransitionsIsPTimesCounts(t *testing.T) {
	const items = 10
	seqs := randomSeqs(150, items, 3)
	cfg := Config{Lambda: 2, MaxNeighbors: items, MaxGap: 2, GapDecay: 0.5}
	inv, err := Solve(context.Background(), seqs, items, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := inv.Transitions(context.Background(), seqs, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := mat.NewDense(items, items, nil)
	for _, s := range seqs {
		for q := range s.Items {
			for p := max(0, q-cfg.MaxGap); p < q; p++ {
				if a, b := int(s.Items[p]), int(s.Items[q]); a != b {
					c.Set(a, b, c.At(a, b)+math.Pow(cfg.GapDecay, float64(q-p-1)))
				}
			}
		}
	}
	var w mat.Dense
	w.Mul(inv.P, c)
	for a := range items {
		for b := range items {
			want := w.At(a, b)
			got, ok := weight(rel, int32(a), int32(b))
			if a != b && want > 1e-9 && (!ok || math.Abs(float64(got)-want) > 1e-4) {
				t.Errorf("W[%d][%d] = %v (kept %v), want %.6f", a, b, got, ok, want)
			}
		}
	}
	nbr, _ := rel.Row(0)
	if len(nbr) == 0 || nbr[0] != 1 {
		t.Errorf("item 0's strongest next item is %v, want 1 (the planted chain)", nbr)
	}
}

func TestMaxItemsKeepsTheMostFrequent(t *testing.T) {
	seqs := randomSeqs(300, 40, 5)
	inv, err := Solve(context.Background(), seqs, 40, Config{Lambda: 1, MaxItems: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.Kept; len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 2 {
		t.Errorf("kept %v, want the planted (most frequent) items [0 1 2]", got)
	}
	if r, c := inv.P.Dims(); r != 3 || c != 3 {
		t.Errorf("P is %d×%d, want 3×3", r, c)
	}
}

func TestSolveRejectsBadConfig(t *testing.T) {
	if _, err := Solve(context.Background(), randomSeqs(10, 5, 1), 5, Config{}, nil); err == nil {
		t.Error("Lambda 0 accepted")
	}
}
