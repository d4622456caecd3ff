package rerank

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Case is one training list: the feature vectors of a case's candidates,
// row-major (len = candidates × Dim), and which row is the true next item.
type Case struct {
	Features []float32
	Target   int
}

// Config controls Fit.
type Config struct {
	// Hidden is the hidden layer width.
	Hidden int
	// Epochs is the most passes over the training cases; the epoch with the
	// best held-out HR@10 within the candidates is kept.
	Epochs int
	// LearnRate is Adam's step size.
	LearnRate float64
	// HoldOut is the share of cases kept out of training to pick the epoch
	// (0 trains on every case and keeps the last epoch).
	HoldOut float64
	// Seed seeds initialisation and shuffling.
	Seed uint64
	// Nets is how many networks are fitted from different initialisations
	// (same cases, same standardisation) and averaged into one (0 = 1).
	Nets int
	// Average, in (0, 1), keeps an exponential moving average of the
	// weights with this decay per case and picks the epoch on the averaged
	// weights, which are the model returned (0 = the raw weights).
	Average float64
}

// DefaultConfig returns the settings chosen on the amazon-grocery
// validation split.
func DefaultConfig() Config {
	return Config{Hidden: 16, Epochs: 8, LearnRate: 0.003, Seed: 1, Average: 0.999}
}

// Fit trains a model on cases with dim features per candidate. progress,
// if not nil, is called after each epoch with (epoch, Epochs).
func Fit(ctx context.Context, cases []Case, dim int, cfg Config, progress func(done, total int)) (*Model, error) {
	if dim <= 0 || cfg.Hidden <= 0 || cfg.Epochs <= 0 || cfg.LearnRate <= 0 {
		return nil, fmt.Errorf("rerank: dim %d, hidden %d, epochs %d and learn rate %g must be positive",
			dim, cfg.Hidden, cfg.Epochs, cfg.LearnRate)
	}
	usable := make([]Case, 0, len(cases))
	for _, c := range cases {
		if n := len(c.Features) / dim; n >= 2 && len(c.Features) == n*dim && c.Target >= 0 && c.Target < n {
			usable = append(usable, c)
		}
	}
	if len(usable) < 10 {
		return nil, fmt.Errorf("rerank: %d usable cases of %d: %w", len(usable), len(cases), ErrNoCases)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	rng.Shuffle(len(usable), func(i, j int) { usable[i], usable[j] = usable[j], usable[i] })
	nh := int(float64(len(usable)) * cfg.HoldOut)
	held, train := usable[:nh], usable[nh:]

	mean, inv := standardisation(train, dim)
	nets := max(cfg.Nets, 1)
	fitted := make([]*Model, nets)
	for k := range nets {
		r := rng // the first net continues the split's generator
		if k > 0 {
			r = rand.New(rand.NewPCG(cfg.Seed, uint64(k)))
		}
		var p func(int, int)
		if progress != nil {
			p = func(d, t int) { progress(k*t+d, nets*t) }
		}
		var err error
		if fitted[k], err = fitOne(ctx, train, held, dim, mean, inv, cfg, r, p); err != nil {
			return nil, err
		}
	}
	if nets == 1 {
		return fitted[0], nil
	}
	return merge(fitted), nil
}

// fitOne trains one network from a fresh initialisation drawn from rng and
// returns its best epoch on held (the last one if held is empty).
func fitOne(ctx context.Context, train, held []Case, dim int, mean, inv []float32, cfg Config, rng *rand.Rand, progress func(done, total int)) (*Model, error) {
	m := &Model{Dim: dim, Hidden: cfg.Hidden, Mean: slices.Clone(mean), InvStd: slices.Clone(inv)}
	m.W1 = make([]float32, dim*cfg.Hidden)
	m.B1 = make([]float32, cfg.Hidden)
	m.W2 = make([]float32, cfg.Hidden)
	m.Skip = make([]float32, dim)
	scale := math.Sqrt(2 / float64(dim))
	for i := range m.W1 {
		m.W1[i] = float32(rng.NormFloat64() * scale)
	}
	for i := range m.W2 {
		m.W2[i] = float32(rng.NormFloat64() * 0.1)
	}
	opt := newAdam(m, cfg.LearnRate, cfg.Average)
	best, bestHR := m.clone(), -1.0
	if len(held) > 0 {
		bestHR = m.hitRate(held)
	}
	for ep := range cfg.Epochs {
		rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
		for i, c := range train {
			if i%256 == 0 && ctx.Err() != nil {
				return nil, fmt.Errorf("rerank: fitting cancelled: %w", ctx.Err())
			}
			opt.step(c)
		}
		if progress != nil {
			progress(ep+1, cfg.Epochs)
		}
		cur := opt.current()
		if len(held) == 0 {
			best = cur
			continue
		}
		if hr := cur.hitRate(held); hr > bestHR {
			best, bestHR = cur, hr
		}
	}
	return best, nil
}

// merge returns the one network whose score is the mean of nets' scores
// (they share the standardisation): their hidden layers side by side, the
// output and skip weights divided by their number.
func merge(nets []*Model) *Model {
	k := float32(len(nets))
	first := nets[0]
	m := &Model{Dim: first.Dim, Mean: slices.Clone(first.Mean), InvStd: slices.Clone(first.InvStd),
		Skip: make([]float32, first.Dim)}
	for _, n := range nets {
		m.Hidden += n.Hidden
		m.W1 = append(m.W1, n.W1...)
		m.B1 = append(m.B1, n.B1...)
		for _, w := range n.W2 {
			m.W2 = append(m.W2, w/k)
		}
		for i, w := range n.Skip {
			m.Skip[i] += w / k
		}
	}
	return m
}

func (m *Model) clone() *Model {
	c := *m
	c.Mean, c.InvStd = slices.Clone(m.Mean), slices.Clone(m.InvStd)
	c.W1, c.B1, c.W2, c.Skip = slices.Clone(m.W1), slices.Clone(m.B1), slices.Clone(m.W2), slices.Clone(m.Skip)
	return &c
}

// hitRate is the share of cases whose target ranks in the top 10 of its
// candidates (ties count against the target).
func (m *Model) hitRate(cases []Case) float64 {
	s := m.NewScratch()
	hits := 0
	for _, c := range cases {
		n := len(c.Features) / m.Dim
		st := m.Score(c.Features[c.Target*m.Dim:], s)
		ahead := 0
		for j := range n {
			if j != c.Target && m.Score(c.Features[j*m.Dim:], s) >= st {
				ahead++
			}
		}
		if ahead < 10 {
			hits++
		}
	}
	return float64(hits) / float64(len(cases))
}

// adam holds the optimiser state and the per-case buffers.
type adam struct {
	m          *Model
	lr         float64
	t          int
	params     [][]float32
	grads      [][]float32
	mom, vel   [][]float32
	z, a, sc   []float32
	zs, as     []float32
	avg        [][]float32 // moving average of params (nil without averaging)
	decay      float32
	beta1, eps float64
	beta2      float64
}

func newAdam(m *Model, lr, average float64) *adam {
	o := &adam{m: m, lr: lr, beta1: 0.9, beta2: 0.999, eps: 1e-8}
	o.params = [][]float32{m.W1, m.B1, m.W2, m.Skip}
	for _, p := range o.params {
		o.grads = append(o.grads, make([]float32, len(p)))
		o.mom = append(o.mom, make([]float32, len(p)))
		o.vel = append(o.vel, make([]float32, len(p)))
		if average > 0 && average < 1 {
			o.avg = append(o.avg, slices.Clone(p))
		}
	}
	o.decay = float32(average)
	return o
}

// current returns a copy of the model as it would be returned now: the
// averaged weights with averaging, the raw ones without.
func (o *adam) current() *Model {
	c := o.m.clone()
	if o.avg != nil {
		for i, p := range [][]float32{c.W1, c.B1, c.W2, c.Skip} {
			copy(p, o.avg[i])
		}
	}
	return c
}

// step takes one Adam step on the softmax cross-entropy of case c.
func (o *adam) step(c Case) {
	m := o.m
	d, h := m.Dim, m.Hidden
	n := len(c.Features) / d
	o.zs = slices.Grow(o.zs[:0], n*d)[:n*d]
	o.as = slices.Grow(o.as[:0], n*h)[:n*h]
	o.sc = slices.Grow(o.sc[:0], n)[:n]
	mx := float32(math.Inf(-1))
	for j := range n {
		z, a := o.zs[j*d:(j+1)*d], o.as[j*h:(j+1)*h]
		m.standardise(c.Features[j*d:(j+1)*d], z)
		o.sc[j] = m.forward(z, a)
		mx = max(mx, o.sc[j])
	}
	var sum float64
	for j := range n {
		e := math.Exp(float64(o.sc[j] - mx))
		o.sc[j] = float32(e)
		sum += e
	}
	for _, g := range o.grads {
		clear(g)
	}
	gW1, gB1, gW2, gSkip := o.grads[0], o.grads[1], o.grads[2], o.grads[3]
	for j := range n {
		g := float32(float64(o.sc[j]) / sum) // dL/ds_j = p_j - y_j
		if j == c.Target {
			g--
		}
		if g > -1e-7 && g < 1e-7 {
			continue
		}
		z, a := o.zs[j*d:(j+1)*d], o.as[j*h:(j+1)*h]
		for i, v := range z {
			gSkip[i] += g * v
		}
		for k := range h {
			if a[k] <= 0 {
				continue
			}
			gW2[k] += g * a[k]
			gk := g * m.W2[k]
			gB1[k] += gk
			w := gW1[k*d : (k+1)*d]
			for i, v := range z {
				w[i] += gk * v
			}
		}
	}
	o.t++
	c1 := 1 - math.Pow(o.beta1, float64(o.t))
	c2 := 1 - math.Pow(o.beta2, float64(o.t))
	step := float32(o.lr * math.Sqrt(c2) / c1)
	b1, b2, eps := float32(o.beta1), float32(o.beta2), float32(o.eps)
	for pi, p := range o.params {
		g, mo, ve := o.grads[pi], o.mom[pi], o.vel[pi]
		for i := range p {
			mo[i] = b1*mo[i] + (1-b1)*g[i]
			ve[i] = b2*ve[i] + (1-b2)*g[i]*g[i]
			p[i] -= step * mo[i] / (float32(math.Sqrt(float64(ve[i]))) + eps)
		}
		if o.avg != nil {
			av, d := o.avg[pi], o.decay
			for i, v := range p {
				av[i] = d*av[i] + (1-d)*v
			}
		}
	}
}
