// Package mf is implicit-feedback matrix factorisation: alternating least
// squares with confidence weighting (Hu, Koren and Volinsky 2008), each
// least-squares step solved by a few warm-started conjugate-gradient
// iterations (Takács, Pilászy and Tikk 2011). Gram matrices use gonum.
//
// The trained Model keeps only item factors. A user's vector is folded in
// from their history at scoring time (one exact least-squares solve), so new
// users and fresh histories need no retraining.
package mf

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
)

// Config holds the ALS hyper-parameters.
type Config struct {
	Factors    int     // latent dimensions
	Iterations int     // alternating sweeps
	Lambda     float64 // L2 regularisation
	Alpha      float64 // confidence c = 1 + Alpha*weight
	CGSteps    int     // conjugate-gradient steps per least-squares solve
	Seed       uint64  // initialisation seed
}

// DefaultConfig returns the settings chosen on the validation split of the
// amazon-grocery data.
func DefaultConfig() Config {
	return Config{Factors: 48, Iterations: 12, Lambda: 2, Alpha: 20, CGSteps: 3, Seed: 1}
}

// Model holds item factors and what fold-in needs.
type Model struct {
	Factors  int
	NumItems int
	Lambda   float64
	Alpha    float64
	// Items is NumItems×Factors, row-major.
	Items []float32
	// Gram is YᵀY (Factors×Factors, row-major) of the item factors.
	Gram []float64
}

// Rows is a user×item matrix of implicit feedback in CSR form: user u has
// items Cols[Off[u]:Off[u+1]] with weights Vals[Off[u]:Off[u+1]].
type Rows struct {
	Off  []int32
	Cols []int32
	Vals []float32
}

// ErrNoData is returned when there is nothing to learn from.
var ErrNoData = errors.New("mf: no interactions")

// Train fits item (and, internally, user) factors. progress, if not nil, is
// called after each sweep.
func Train(ctx context.Context, r Rows, numItems int, cfg Config, progress func(iter, total int)) (*Model, error) {
	nu := len(r.Off) - 1
	if nu <= 0 || numItems <= 0 || len(r.Cols) == 0 {
		return nil, ErrNoData
	}
	if cfg.Factors <= 0 || cfg.Iterations <= 0 || cfg.CGSteps <= 0 {
		return nil, fmt.Errorf("mf: Factors, Iterations and CGSteps must be positive (got %d, %d, %d)",
			cfg.Factors, cfg.Iterations, cfg.CGSteps)
	}
	for _, c := range r.Cols {
		if c < 0 || int(c) >= numItems {
			return nil, fmt.Errorf("mf: item %d out of range [0,%d)", c, numItems)
		}
	}
	k := cfg.Factors
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7469646500))
	x := make([]float64, nu*k)
	y := make([]float64, numItems*k)
	for i := range y {
		y[i] = rng.NormFloat64() * 0.01
	}
	t := transpose(r, numItems)
	gram := make([]float64, k*k)
	for it := range cfg.Iterations {
		gramOf(y, numItems, k, gram)
		if err := sweep(ctx, r, y, x, gram, cfg); err != nil {
			return nil, err
		}
		gramOf(x, nu, k, gram)
		if err := sweep(ctx, t, x, y, gram, cfg); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(it+1, cfg.Iterations)
		}
	}
	m := &Model{Factors: k, NumItems: numItems, Lambda: cfg.Lambda, Alpha: cfg.Alpha,
		Items: make([]float32, len(y)), Gram: make([]float64, k*k)}
	for i, v := range y {
		m.Items[i] = float32(v)
	}
	gramOf(y, numItems, k, m.Gram)
	return m, nil
}

// gramOf writes AᵀA of the rows×k matrix a into g (k×k) using gonum.
func gramOf(a []float64, rows, k int, g []float64) {
	am := mat.NewDense(rows, k, a)
	var s mat.SymDense
	s.SymOuterK(1, am.T())
	for i := range k {
		for j := range k {
			g[i*k+j] = s.At(i, j)
		}
	}
}

// sweep updates every row of dst (the side whose interactions r lists) given
// the fixed factors src and their Gram matrix.
func sweep(ctx context.Context, r Rows, src, dst, gram []float64, cfg Config) error {
	k := cfg.Factors
	n := len(r.Off) - 1
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := make([]float64, k)
			p := make([]float64, k)
			ap := make([]float64, k)
			for {
				start := int(next.Add(64) - 64)
				if start >= n || ctx.Err() != nil {
					return
				}
				for u := start; u < min(start+64, n); u++ {
					lo, hi := r.Off[u], r.Off[u+1]
					cgSolve(r.Cols[lo:hi], r.Vals[lo:hi], src, gram, dst[u*k:(u+1)*k], cfg, res, p, ap)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mf: training cancelled: %w", err)
	}
	return nil
}

// cgSolve improves x towards the solution of
// (G + λI + Σ (c_i-1) y_i y_iᵀ) x = Σ c_i y_i with a few CG steps.
func cgSolve(cols []int32, vals []float32, y, gram, x []float64, cfg Config, r, p, ap []float64) {
	k := len(x)
	// r = b - A x
	mulA(cols, vals, y, gram, x, cfg, r)
	for i := range r {
		r[i] = -r[i]
	}
	for j, c := range cols {
		conf := 1 + cfg.Alpha*float64(weight(vals[j]))
		yi := y[int(c)*k : int(c)*k+k]
		for i := range k {
			r[i] += conf * yi[i]
		}
	}
	copy(p, r)
	rs := dot(r, r)
	for range cfg.CGSteps {
		if rs < 1e-20 {
			return
		}
		mulA(cols, vals, y, gram, p, cfg, ap)
		a := rs / dot(p, ap)
		for i := range k {
			x[i] += a * p[i]
			r[i] -= a * ap[i]
		}
		rsNew := dot(r, r)
		for i := range k {
			p[i] = r[i] + rsNew/rs*p[i]
		}
		rs = rsNew
	}
}

// mulA writes (G + λI + Σ (c_i-1) y_i y_iᵀ) v into out.
func mulA(cols []int32, vals []float32, y, gram, v []float64, cfg Config, out []float64) {
	k := len(v)
	for i := range k {
		row := gram[i*k : i*k+k]
		out[i] = dot(row, v) + cfg.Lambda*v[i]
	}
	for j, c := range cols {
		yi := y[int(c)*k : int(c)*k+k]
		s := cfg.Alpha * float64(weight(vals[j])) * dot(yi, v)
		for i := range k {
			out[i] += s * yi[i]
		}
	}
}

func transpose(r Rows, numItems int) Rows {
	t := Rows{Off: make([]int32, numItems+1), Cols: make([]int32, len(r.Cols)), Vals: make([]float32, len(r.Vals))}
	for _, c := range r.Cols {
		t.Off[c+1]++
	}
	for i := 1; i <= numItems; i++ {
		t.Off[i] += t.Off[i-1]
	}
	fill := make([]int32, numItems)
	copy(fill, t.Off[:numItems])
	for u := 0; u < len(r.Off)-1; u++ {
		for j := r.Off[u]; j < r.Off[u+1]; j++ {
			c := r.Cols[j]
			t.Cols[fill[c]] = int32(u)
			t.Vals[fill[c]] = r.Vals[j]
			fill[c]++
		}
	}
	return t
}

func weight(v float32) float32 {
	if v == 0 {
		return 1
	}
	return v
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
