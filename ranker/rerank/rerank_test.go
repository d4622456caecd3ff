package rerank

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
)

// plantedCases makes lists of 30 candidates with 3 features where the
// target is the candidate whose feature 0 times feature 1 is largest (an
// interaction a linear scorer cannot express exactly) and feature 2 is
// noise.
func plantedCases(n int, seed uint64) []Case {
	rng := rand.New(rand.NewPCG(seed, 2))
	cases := make([]Case, n)
	for i := range cases {
		f := make([]float32, 30*3)
		best, bestV := 0, float32(-1)
		for j := range 30 {
			a, b := rng.Float32(), rng.Float32()
			f[j*3], f[j*3+1], f[j*3+2] = a, b, rng.Float32()
			if a*b > bestV {
				best, bestV = j, a*b
			}
		}
		cases[i] = Case{Features: f, Target: best}
	}
	return cases
}

func TestFitLearnsPlantedOrder(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Epochs = 6
	m, err := Fit(context.Background(), plantedCases(3000, 1), 3, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	fresh := plantedCases(500, 2)
	if hr := m.hitRate(fresh); hr < 0.9 {
		t.Errorf("fitted model finds the planted target in the top 10 of 30 for %.2f of fresh lists, want >= 0.9 (random: 0.33)", hr)
	}
	// first place: the planted best beats every other candidate mostly
	s := m.NewScratch()
	first := 0
	for _, c := range fresh {
		st := m.Score(c.Features[c.Target*3:], s)
		top := true
		for j := range 30 {
			if j != c.Target && m.Score(c.Features[j*3:], s) > st {
				top = false
				break
			}
		}
		if top {
			first++
		}
	}
	if share := float64(first) / float64(len(fresh)); share < 0.5 {
		t.Errorf("planted target first in %.2f of fresh lists, want >= 0.5 (random: 0.03)", share)
	}
}

func TestFitRejects(t *testing.T) {
	if _, err := Fit(context.Background(), plantedCases(5, 1), 3, DefaultConfig(), nil); !errors.Is(err, ErrNoCases) {
		t.Errorf("5 cases: err %v, want ErrNoCases", err)
	}
	if _, err := Fit(context.Background(), plantedCases(50, 1), 0, DefaultConfig(), nil); err == nil {
		t.Error("dim 0 accepted")
	}
	bad := &Model{Dim: 3, Hidden: 2, Mean: make([]float32, 3)}
	if bad.Check() == nil {
		t.Error("a model with missing weights passes Check")
	}
}

// TestFitNetsAveragesScores checks that fitting several networks returns
// one whose score is the mean of networks fitted alone from the same
// initialisations, and that the averaged model still finds the planted
// target.
func TestFitNetsAveragesScores(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Epochs = 3
	cfg.Nets = 3
	cases := plantedCases(2000, 3)
	m, err := Fit(context.Background(), cases, 3, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	if m.Hidden != 3*cfg.Hidden {
		t.Fatalf("merged hidden width %d, want %d", m.Hidden, 3*cfg.Hidden)
	}
	// each member network is the merged model's hidden slice k with its
	// output and skip weights scaled back
	s := m.NewScratch()
	x := cases[0].Features[:3]
	h := cfg.Hidden
	var sum float32
	for k := range 3 {
		one := &Model{Dim: 3, Hidden: h, Mean: m.Mean, InvStd: m.InvStd,
			W1: m.W1[k*h*3 : (k+1)*h*3], B1: m.B1[k*h : (k+1)*h], W2: make([]float32, h), Skip: make([]float32, 3)}
		for i, w := range m.W2[k*h : (k+1)*h] {
			one.W2[i] = 3 * w
		}
		copy(one.Skip, m.Skip)
		sum += one.Score(x, one.NewScratch())
	}
	if got, want := m.Score(x, s), sum/3; got-want > 1e-4 || want-got > 1e-4 {
		t.Errorf("merged score %g, mean of members %g", got, want)
	}
	if hr := m.hitRate(plantedCases(500, 4)); hr < 0.9 {
		t.Errorf("averaged model finds the planted target in the top 10 of 30 for %.2f of fresh lists, want >= 0.9", hr)
	}
}
