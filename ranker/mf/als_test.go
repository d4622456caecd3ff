package mf

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// blocks plants two communities: users 0..49 use items 0..9 only, users
// 50..99 items 10..19 only, five random items each.
func blocks() Rows {
	rng := rand.New(rand.NewPCG(7, 7))
	r := Rows{Off: []int32{0}}
	for u := range 100 {
		base := int32(0)
		if u >= 50 {
			base = 10
		}
		for _, j := range rng.Perm(10)[:5] {
			r.Cols = append(r.Cols, base+int32(j))
			r.Vals = append(r.Vals, 1)
		}
		r.Off = append(r.Off, int32(len(r.Cols)))
	}
	return r
}

func TestALSRecoversCommunities(t *testing.T) {
	cfg := Config{Factors: 2, Iterations: 10, Lambda: 1, Alpha: 10, CGSteps: 3, Seed: 1}
	m, err := Train(context.Background(), blocks(), 20, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, cfg.Factors)
	s := NewScratch(cfg.Factors)
	for _, tc := range []struct {
		hist []int32
		own  int32 // the history's community is items [own, own+10)
	}{{[]int32{0, 1, 2}, 0}, {[]int32{15, 17}, 10}, {[]int32{11}, 10}} {
		m.FoldIn(tc.hist, nil, x, s)
		var sumOwn, sumOther float32
		var top []int32
		for i := range int32(20) {
			v := m.Score(x, i)
			if i >= tc.own && i < tc.own+10 {
				sumOwn += v
			} else {
				sumOther += v
			}
			top = append(top, i)
		}
		slices.SortFunc(top, func(a, b int32) int { return cmp.Compare(m.Score(x, b), m.Score(x, a)) })
		for _, i := range top[:5] {
			if i < tc.own || i >= tc.own+10 {
				t.Errorf("history %v: top-5 %v has item %d from the other community", tc.hist, top[:5], i)
			}
		}
		if sumOwn/10 < sumOther/10+0.3 {
			t.Errorf("history %v: mean own score %.2f, other %.2f", tc.hist, sumOwn/10, sumOther/10)
		}
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	cfg := Config{Factors: 4, Iterations: 3, Lambda: 0.1, Alpha: 10, CGSteps: 3, Seed: 5}
	a, _ := Train(context.Background(), blocks(), 20, cfg, nil)
	b, _ := Train(context.Background(), blocks(), 20, cfg, nil)
	for i := range a.Items {
		if a.Items[i] != b.Items[i] {
			t.Fatal("two trainings with the same seed differ")
		}
	}
}

func TestCholeskySolveMatchesGonum(t *testing.T) {
	const k = 12
	rng := rand.New(rand.NewPCG(1, 2))
	g := mat.NewDense(k, k, nil)
	for i := range k {
		for j := range k {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var spd mat.Dense
	spd.Mul(g.T(), g)
	for i := range k {
		spd.Set(i, i, spd.At(i, i)+1)
	}
	b := make([]float64, k)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	var want mat.VecDense
	if err := want.SolveVec(&spd, mat.NewVecDense(k, append([]float64(nil), b...))); err != nil {
		t.Fatal(err)
	}
	a := append([]float64(nil), spd.RawMatrix().Data...)
	if !choleskySolve(a, b, k) {
		t.Fatal("matrix reported not positive definite")
	}
	for i := range k {
		if d := b[i] - want.AtVec(i); d > 1e-9 || d < -1e-9 {
			t.Fatalf("z[%d] = %v, gonum says %v", i, b[i], want.AtVec(i))
		}
	}
}

func TestTrainErrors(t *testing.T) {
	cfg := Config{Factors: 4, Iterations: 1, Lambda: 0.1, Alpha: 1, CGSteps: 1}
	if _, err := Train(context.Background(), Rows{Off: []int32{0}}, 3, cfg, nil); !errors.Is(err, ErrNoData) {
		t.Fatalf("empty: err = %v", err)
	}
	r := Rows{Off: []int32{0, 1}, Cols: []int32{9}, Vals: []float32{1}}
	if _, err := Train(context.Background(), r, 3, cfg, nil); err == nil {
		t.Fatal("item out of range accepted")
	}
	cfg.Factors = 0
	if _, err := Train(context.Background(), blocks(), 20, cfg, nil); err == nil {
		t.Fatal("zero factors accepted")
	}
}

// objective is the implicit-ALS loss with user vectors folded in exactly.
func objective(m *Model, r Rows, lambda, alpha float64) float64 {
	s := NewScratch(m.Factors)
	x := make([]float32, m.Factors)
	loss := 0.0
	for u := 0; u < len(r.Off)-1; u++ {
		items := r.Cols[r.Off[u]:r.Off[u+1]]
		m.FoldIn(items, nil, x, s)
		has := map[int32]bool{}
		for _, i := range items {
			has[i] = true
		}
		for i := range int32(m.NumItems) {
			p, c := 0.0, 1.0
			if has[i] {
				p, c = 1, 1+alpha
			}
			d := p - float64(m.Score(x, i))
			loss += c * d * d
		}
		for _, v := range x {
			loss += lambda * float64(v*v)
		}
	}
	for _, v := range m.Items {
		loss += lambda * float64(v*v)
	}
	return loss
}

func TestLossDecreases(t *testing.T) {
	prev := 0.0
	for it := 1; it <= 5; it++ {
		cfg := Config{Factors: 4, Iterations: it, Lambda: 1, Alpha: 10, CGSteps: 3, Seed: 1}
		m, err := Train(context.Background(), blocks(), 20, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		loss := objective(m, blocks(), cfg.Lambda, cfg.Alpha)
		if it > 1 && loss > prev {
			t.Fatalf("loss rose from %.2f to %.2f at sweep %d", prev, loss, it)
		}
		prev = loss
	}
}
