package ctr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/gonum/optimize"

	"github.com/tide-live/tide/ranker"
)

// Samples are labelled impressions in time order.
type Samples struct {
	X []Features
	Y []bool
	T []int64 // ms, non-decreasing
}

// Add appends an unlabelled (negative) impression at time t (ms) and
// returns its index.
func (s *Samples) Add(x *Features, t int64) int {
	s.X = append(s.X, *x)
	s.Y = append(s.Y, false)
	s.T = append(s.T, t)
	return len(s.X) - 1
}

// Label marks impression i as followed by an enter (click).
func (s *Samples) Label(i int) { s.Y[i] = true }

// Len is the number of samples.
func (s *Samples) Len() int { return len(s.X) }

// Positives counts the positive samples.
func (s *Samples) Positives() int {
	n := 0
	for _, y := range s.Y {
		if y {
			n++
		}
	}
	return n
}

// SplitAt splits the samples at time t (ms): before and from t. They share
// s's storage.
func (s *Samples) SplitAt(t int64) (before, after Samples) {
	i := 0
	for i < len(s.T) && s.T[i] < t {
		i++
	}
	return Samples{s.X[:i], s.Y[:i], s.T[:i]}, Samples{s.X[i:], s.Y[i:], s.T[i:]}
}

// Config controls Train.
type Config struct {
	// L2 is the weight of ½‖w‖² added to the mean log loss (default 1e-4).
	L2 float64
	// MaxIter bounds the L-BFGS iterations (default 200).
	MaxIter int
	// TestFraction is the latest part of the samples' time span held out to
	// measure TestAUC (default 0.2; <0 holds out nothing).
	TestFraction float64
	// Refit refits on all samples after measuring on the held-out part.
	Refit bool
	// MinSamples and MinPositives are the least data Train accepts
	// (defaults 200 and 20).
	MinSamples, MinPositives int
}

// DefaultConfig returns the production settings.
func DefaultConfig() Config {
	return Config{L2: 1e-4, MaxIter: 200, TestFraction: 0.2, Refit: true, MinSamples: 200, MinPositives: 20}
}

// Train fits a model of kind k on s (in time order). With a TestFraction
// it first fits on the earlier samples and measures AUC and log loss on
// the later ones (a time split), then, with Refit, fits again on all of
// them. Too few samples or positives is an error wrapping
// ranker.ErrTooLittleData.
func Train(ctx context.Context, k Kind, s Samples, cfg Config) (*Model, error) {
	if cfg.MaxIter <= 0 {
		cfg.MaxIter = 200
	}
	pos := s.Positives()
	if s.Len() < cfg.MinSamples || pos < cfg.MinPositives || pos == s.Len() {
		return nil, fmt.Errorf("ctr: %s: %d impressions with %d positives, need at least %d and %d (and some negatives): %w",
			k, s.Len(), pos, cfg.MinSamples, cfg.MinPositives, ranker.ErrTooLittleData)
	}
	fitOn, test := s, Samples{}
	if cfg.TestFraction > 0 && s.Len() > 1 {
		lo, hi := s.T[0], s.T[len(s.T)-1]
		cut := hi - int64(float64(hi-lo)*cfg.TestFraction)
		a, b := s.SplitAt(cut)
		if a.Positives() > 0 && b.Positives() > 0 && a.Positives() < a.Len() && b.Positives() < b.Len() {
			fitOn, test = a, b
		}
	}
	m, err := fit(ctx, k, fitOn, cfg)
	if err != nil {
		return nil, err
	}
	met := Metrics{Samples: s.Len(), Positives: pos, BaseRate: float64(pos) / float64(s.Len())}
	if test.Len() > 0 {
		met.TestN = test.Len()
		met.TestAUC, met.LogLoss = m.Evaluate(test)
		if cfg.Refit {
			if m, err = fit(ctx, k, s, cfg); err != nil {
				return nil, err
			}
		}
	} else {
		_, met.LogLoss = m.Evaluate(s)
	}
	met.Iters = m.Metrics.Iters
	met.TrainAUC, _ = m.Evaluate(s)
	m.Metrics = met
	return m, nil
}

// Evaluate returns the AUC and mean log loss of m on s.
func (m *Model) Evaluate(s Samples) (auc, logLoss float64) {
	p := make([]float64, s.Len())
	for i := range s.X {
		p[i] = m.Predict(&s.X[i])
		q := p[i]
		if !s.Y[i] {
			q = 1 - q
		}
		logLoss -= math.Log(max(q, 1e-15))
	}
	if len(p) > 0 {
		logLoss /= float64(len(p))
	}
	return AUC(p, s.Y), logLoss
}

// errStopped ends the optimisation when the context is done.
var errStopped = errors.New("ctr: training stopped")

type ctxRecorder struct{ ctx context.Context }

func (r ctxRecorder) Init() error { return nil }
func (r ctxRecorder) Record(*optimize.Location, optimize.Operation, *optimize.Stats) error {
	if r.ctx.Err() != nil {
		return errStopped
	}
	return nil
}

// fit standardises s and minimises mean log loss + L2/2‖w‖² with L-BFGS.
func fit(ctx context.Context, k Kind, s Samples, cfg Config) (*Model, error) {
	m := &Model{Kind: k, L2: cfg.L2, TrainedAt: time.Now().UTC()}
	names := RoomNames
	if k == Products {
		names = ProductNames
	}
	m.Names = names[:]
	n := float64(s.Len())
	var sum, sq [N]float64
	for i := range s.X {
		for j := range N {
			sum[j] += s.X[i][j]
		}
	}
	for j := range N {
		m.Mean[j] = sum[j] / n
	}
	for i := range s.X {
		for j := range N {
			d := s.X[i][j] - m.Mean[j]
			sq[j] += d * d
		}
	}
	for j := range N {
		if sd := math.Sqrt(sq[j] / n); sd > 1e-9 {
			m.Scale[j] = 1 / sd
		}
	}
	obj := &objective{s: s, mean: &m.Mean, scale: &m.Scale, l2: cfg.L2, workers: max(1, runtime.GOMAXPROCS(0))}
	p := optimize.Problem{Func: obj.fn, Grad: obj.gradient}
	settings := &optimize.Settings{
		MajorIterations:   cfg.MaxIter,
		GradientThreshold: 1e-7,
		Recorder:          ctxRecorder{ctx},
	}
	init := make([]float64, N+1)
	base := min(max(float64(s.Positives())/n, 1e-6), 1-1e-6)
	init[N] = math.Log(base / (1 - base))
	res, err := optimize.Minimize(p, init, settings, &optimize.LBFGS{})
	if ctx.Err() != nil {
		return nil, fmt.Errorf("ctr: %w", ctx.Err())
	}
	if err != nil && res == nil {
		return nil, fmt.Errorf("ctr: fitting %s: %w", k, err)
	}
	// A line search that cannot improve further still leaves a usable
	// optimum; only a non-finite result is a failure.
	for _, v := range res.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("ctr: fitting %s diverged (%v)", k, err)
		}
	}
	copy(m.Weights[:], res.X[:N])
	m.Bias = res.X[N]
	m.Metrics.Iters = res.Stats.MajorIterations
	m.init()
	return m, nil
}

// objective is the regularised mean log loss over standardised samples;
// w[:N] are the weights, w[N] the bias.
type objective struct {
	s           Samples
	mean, scale *[N]float64
	l2          float64
	workers     int
	// the gradient at lastW, computed with the value (L-BFGS asks for
	// both at the same point)
	lastW, lastG []float64
}

func (o *objective) fn(w []float64) float64 {
	if o.lastG == nil {
		o.lastG = make([]float64, N+1)
	}
	o.lastW = append(o.lastW[:0], w...)
	return o.eval(w, o.lastG)
}

func (o *objective) gradient(g, w []float64) {
	if o.lastG != nil && slices.Equal(w, o.lastW) {
		copy(g, o.lastG)
		return
	}
	o.eval(w, g)
}

func (o *objective) eval(w []float64, grad []float64) float64 {
	n := o.s.Len()
	chunk := (n + o.workers - 1) / o.workers
	type part struct {
		loss float64
		g    [N + 1]float64
	}
	parts := make([]part, o.workers)
	var wg sync.WaitGroup
	for k := range o.workers {
		lo, hi := k*chunk, min(n, (k+1)*chunk)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func(p *part) {
			defer wg.Done()
			var z [N]float64
			for i := lo; i < hi; i++ {
				x := &o.s.X[i]
				dot := w[N]
				for j := range N {
					z[j] = (x[j] - o.mean[j]) * o.scale[j]
					dot += w[j] * z[j]
				}
				y := 0.0
				if o.s.Y[i] {
					y = 1
				}
				// log(1+e^dot) − y·dot, computed stably
				if dot > 0 {
					p.loss += dot + math.Log1p(math.Exp(-dot)) - y*dot
				} else {
					p.loss += math.Log1p(math.Exp(dot)) - y*dot
				}
				if grad != nil {
					r := sigmoid(dot) - y
					for j := range N {
						p.g[j] += r * z[j]
					}
					p.g[N] += r
				}
			}
		}(&parts[k])
	}
	wg.Wait()
	loss := 0.0
	if grad != nil {
		clear(grad)
	}
	for k := range parts {
		loss += parts[k].loss
		if grad != nil {
			for j := range N + 1 {
				grad[j] += parts[k].g[j]
			}
		}
	}
	inv := 1 / float64(n)
	loss *= inv
	for j := range N {
		loss += 0.5 * o.l2 * w[j] * w[j]
	}
	if grad != nil {
		for j := range N + 1 {
			grad[j] *= inv
		}
		for j := range N {
			grad[j] += o.l2 * w[j]
		}
	}
	return loss
}
