// Package rerank is the learned second stage of the ranker: a small
// multi-layer perceptron that scores a candidate from its feature vector
// (each generator's score, recency and popularity signals, history length),
// trained listwise — softmax cross-entropy of the true next item among a
// case's candidates — with Adam.
//
// The package knows nothing of items or histories: ranker builds the
// feature vectors and the candidate sets.
package rerank

import (
	"errors"
	"fmt"
	"math"
)

// ErrNoCases is returned when Fit has no usable case.
var ErrNoCases = errors.New("rerank: no training cases")

// Model scores one candidate's feature vector:
//
//	s(x) = Out · relu(Hidden·z + HiddenBias) + Skip · z,  z = (x - Mean) ⊙ InvStd
//
// Only the order of scores within one candidate set means anything. Fields
// are exported for gob; use it by pointer, read-only after Fit.
type Model struct {
	// Dim is the feature vector's length; Hidden is the hidden layer width.
	Dim, Hidden int
	// Mean and InvStd standardise the inputs.
	Mean, InvStd []float32
	// W1 is Hidden×Dim row-major, B1 the hidden biases.
	W1, B1 []float32
	// W2 weights the hidden units, Skip the standardised inputs.
	W2, Skip []float32
}

// Check validates the model's shapes.
func (m *Model) Check() error {
	d, h := m.Dim, m.Hidden
	if d <= 0 || h <= 0 || len(m.Mean) != d || len(m.InvStd) != d || len(m.W1) != d*h ||
		len(m.B1) != h || len(m.W2) != h || len(m.Skip) != d {
		return fmt.Errorf("rerank: model shapes disagree (dim %d, hidden %d)", d, h)
	}
	return nil
}

// Scratch is per-goroutine working memory for Score.
type Scratch struct{ z, a []float32 }

// NewScratch returns working memory sized for m.
func (m *Model) NewScratch() *Scratch {
	return &Scratch{z: make([]float32, m.Dim), a: make([]float32, m.Hidden)}
}

// Score returns s(x) for one feature vector (len(x) == Dim).
func (m *Model) Score(x []float32, s *Scratch) float32 {
	m.standardise(x, s.z)
	return m.forward(s.z, s.a)
}

func (m *Model) standardise(x, z []float32) {
	for i, v := range x[:m.Dim] {
		z[i] = (v - m.Mean[i]) * m.InvStd[i]
	}
}

// forward computes the score of standardised z, leaving the hidden
// activations in a.
func (m *Model) forward(z, a []float32) float32 {
	d := m.Dim
	var out float32
	for i, v := range z {
		out += m.Skip[i] * v
	}
	for h := range m.Hidden {
		w := m.W1[h*d : (h+1)*d]
		v := m.B1[h]
		for i, zi := range z {
			v += w[i] * zi
		}
		if v < 0 {
			v = 0
		}
		a[h] = v
		out += m.W2[h] * v
	}
	return out
}

// standardisation returns the mean and inverse standard deviation of each
// feature over all candidates of cases.
func standardisation(cases []Case, d int) (mean, inv []float32) {
	sum := make([]float64, d)
	sq := make([]float64, d)
	n := 0
	for _, c := range cases {
		for j := 0; j+d <= len(c.Features); j += d {
			for i, v := range c.Features[j : j+d] {
				sum[i] += float64(v)
				sq[i] += float64(v) * float64(v)
			}
			n++
		}
	}
	mean, inv = make([]float32, d), make([]float32, d)
	for i := range d {
		mu := sum[i] / float64(max(n, 1))
		va := sq[i]/float64(max(n, 1)) - mu*mu
		mean[i] = float32(mu)
		if va > 1e-12 {
			inv[i] = float32(1 / math.Sqrt(va))
		}
	}
	return mean, inv
}
