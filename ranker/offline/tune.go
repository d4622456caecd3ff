package offline

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/tide-live/tide/ranker"
)

// TuneOptions configure TuneBlend.
type TuneOptions struct {
	K int // cut-off; 10 if 0
	// Pool is how many best items of each component enter a case's
	// candidate pool (50 if 0). Blends are compared by the target's rank
	// within the union of the pools, which matches full ranking whenever
	// the blended top K lies inside it.
	Pool int
	// Rounds of coordinate search (3 if 0).
	Rounds int
	// Progress, if set, is called while candidate pools are built.
	Progress func(done, total int)
}

// component is one blend weight the tuner can evaluate on its own.
type component struct {
	name  string
	field func(*ranker.Blend) *float32
}

// components lists the blend's parts in the order pools store them; Seq is
// first and fixed at 1.
var components = []component{
	{"seq", func(b *ranker.Blend) *float32 { return &b.Seq }},
	{"co", func(b *ranker.Blend) *float32 { return &b.Co }},
	{"mf", func(b *ranker.Blend) *float32 { return &b.MF }},
	{"trend", func(b *ranker.Blend) *float32 { return &b.Trend }},
	{"pop", func(b *ranker.Blend) *float32 { return &b.Pop }},
}

type pooled struct {
	items []int32   // items[0] is the target
	comp  []float32 // len(items)×len(components), row-major
}

// usable reports whether m has the part behind component c.
func usable(m *ranker.Model, c int) bool {
	switch components[c].name {
	case "mf":
		return m.MF != nil
	case "trend":
		return m.Trend != nil
	}
	return true
}

// TuneBlend searches blend weights for m that maximise HR@K (ties broken by
// NDCG@K) over cases, which must be validation cases: tuning on test
// targets would overstate the result. Seq stays at 1 (scores only order
// items, so one weight can be fixed); the other weights are searched one at
// a time over a multiplicative grid. It returns the best blend and its
// (pooled) validation metrics.
func TuneBlend(ctx context.Context, m *ranker.Model, cases []Case, o TuneOptions) (ranker.Blend, Metrics, error) {
	if o.K == 0 {
		o.K = 10
	}
	if o.Pool == 0 {
		o.Pool = 50
	}
	if o.Rounds == 0 {
		o.Rounds = 3
	}
	pools, err := buildPools(ctx, m, cases, o)
	if err != nil {
		return ranker.Blend{}, Metrics{}, err
	}
	best := m.Config.Blend
	if best.Seq == 0 {
		best.Seq = 1
	}
	seq := best.Seq
	for c := range components {
		f := components[c].field(&best)
		*f /= seq
		if !usable(m, c) {
			*f = 0
		}
	}
	bestM := scorePools(pools, best, o.K)
	steps := []float32{0.125, 0.25, 0.5, 0.7, 1.4, 2, 4, 8}
	for range o.Rounds {
		improved := false
		for c := 1; c < len(components); c++ {
			if !usable(m, c) {
				continue
			}
			field := components[c].field
			cur := *field(&best)
			tries := []float32{0, 1e-3, 1e-2, 0.1, 1}
			if cur != 0 {
				for _, s := range steps {
					tries = append(tries, cur*s)
				}
			}
			for _, v := range tries {
				b := best
				*field(&b) = v
				got := scorePools(pools, b, o.K)
				if got.HR > bestM.HR || (got.HR == bestM.HR && got.NDCG > bestM.NDCG+1e-9) {
					best, bestM, improved = b, got, true
				}
			}
		}
		if !improved {
			break
		}
	}
	return best, bestM, nil
}

func buildPools(ctx context.Context, m *ranker.Model, cases []Case, o TuneOptions) ([]pooled, error) {
	n := m.NumItems()
	nc := len(components)
	scorers := make([]*ranker.Model, nc)
	for c := range components {
		if usable(m, c) {
			var b ranker.Blend
			*components[c].field(&b) = 1
			scorers[c] = m.WithBlend(b)
		}
	}
	pools := make([]pooled, len(cases))
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dense := make([][]float32, nc)
			for c := range dense {
				dense[c] = make([]float32, n)
			}
			inPool := make([]bool, n)
			masked := make([]float32, n)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cases) || ctx.Err() != nil {
					return
				}
				c := cases[i]
				items := []int32{int32(c.Target)}
				inPool[c.Target] = true
				for ci, s := range scorers {
					if s == nil {
						continue
					}
					s.ScoreAll(c.History, dense[ci])
					copy(masked, dense[ci])
					for _, e := range c.History {
						masked[e.Item] = float32(math.Inf(-1))
					}
					for _, s := range ranker.TopK(masked, o.Pool) {
						if !inPool[s.Item] {
							inPool[s.Item] = true
							items = append(items, int32(s.Item))
						}
					}
				}
				p := pooled{items: items, comp: make([]float32, len(items)*nc)}
				for j, it := range items {
					inPool[it] = false
					for ci := range nc {
						if scorers[ci] != nil {
							p.comp[j*nc+ci] = dense[ci][it]
						}
					}
				}
				pools[i] = p
				if d := done.Add(1); o.Progress != nil && d%2048 == 0 {
					o.Progress(int(d), len(cases))
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("offline: tuning cancelled: %w", err)
	}
	return pools, nil
}

// scorePools evaluates blend b on the pooled candidates.
func scorePools(pools []pooled, b ranker.Blend, k int) Metrics {
	nc := len(components)
	w := make([]float32, nc)
	for c := range components {
		w[c] = *components[c].field(&b)
	}
	gains := make([][2]float64, len(pools))
	parallelFor(len(pools), func(i int) {
		p := pools[i]
		st := dot(w, p.comp[:nc])
		t := int(p.items[0])
		r := 0
		for j := 1; j < len(p.items); j++ {
			if ahead(dot(w, p.comp[j*nc:(j+1)*nc]), int(p.items[j]), st, t) {
				r++
			}
		}
		h, g := Gain(r, k)
		gains[i] = [2]float64{h, g}
	})
	return average(gains)
}

func dot(w, c []float32) float32 {
	var s float32
	for i, v := range w {
		s += v * c[i]
	}
	return s
}

// average sums per-case gains in case order, so results do not depend on
// scheduling.
func average(gains [][2]float64) Metrics {
	if len(gains) == 0 {
		return Metrics{}
	}
	var hr, nd float64
	for _, g := range gains {
		hr += g[0]
		nd += g[1]
	}
	u := float64(len(gains))
	return Metrics{HR: hr / u, NDCG: nd / u, Users: len(gains)}
}

// parallelFor runs f(0..n-1) on GOMAXPROCS goroutines.
func parallelFor(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(n, 1))
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				f(i)
			}
		}()
	}
	wg.Wait()
}
