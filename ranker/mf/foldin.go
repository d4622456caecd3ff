package mf

import "math"

// Scratch is reusable working memory for FoldIn; one per goroutine.
type Scratch struct {
	a, b []float64
}

// NewScratch returns working memory for a model with k factors.
func NewScratch(k int) *Scratch {
	return &Scratch{a: make([]float64, k*k), b: make([]float64, k)}
}

// FoldIn computes the user vector for a history of items with weights
// (nil means unit weights), exactly solving the ALS least-squares problem
// with the item factors fixed, and writes it to x (len Factors). It does not
// allocate. Items out of range are ignored.
func (m *Model) FoldIn(items []int32, weights []float32, x []float32, s *Scratch) {
	k := m.Factors
	a, b := s.a[:k*k], s.b[:k]
	copy(a, m.Gram)
	for i := range k {
		a[i*k+i] += m.Lambda
		b[i] = 0
	}
	for j, it := range items {
		if it < 0 || int(it) >= m.NumItems {
			continue
		}
		w := float32(1)
		if weights != nil {
			w = weight(weights[j])
		}
		conf := 1 + m.Alpha*float64(w)
		yi := m.Items[int(it)*k : int(it)*k+k]
		for r := range k {
			vr := float64(yi[r])
			b[r] += conf * vr
			s := (conf - 1) * vr
			row := a[r*k : r*k+k]
			for c := 0; c <= r; c++ {
				row[c] += s * float64(yi[c])
			}
		}
	}
	if !choleskySolve(a, b, k) {
		clear(x)
		return
	}
	for i := range k {
		x[i] = float32(b[i])
	}
}

// Score returns the predicted preference of a folded-in user x for item.
func (m *Model) Score(x []float32, item int32) float32 {
	k := m.Factors
	yi := m.Items[int(item)*k : int(item)*k+k]
	var s float32
	for i, v := range yi {
		s += v * x[i]
	}
	return s
}

// choleskySolve solves a·z = b in place (b becomes z) using the lower
// triangle of the symmetric positive-definite k×k matrix a, which it
// overwrites. It reports false if a is not positive definite.
func choleskySolve(a, b []float64, k int) bool {
	for j := range k {
		rj := a[j*k : j*k+k]
		d := rj[j]
		for c := range j {
			d -= rj[c] * rj[c]
		}
		if d <= 0 {
			return false
		}
		d = math.Sqrt(d)
		rj[j] = d
		for i := j + 1; i < k; i++ {
			ri := a[i*k : i*k+k]
			v := ri[j]
			for c := range j {
				v -= ri[c] * rj[c]
			}
			ri[j] = v / d
		}
	}
	// forward: L y = b
	for i := range k {
		ri := a[i*k : i*k+k]
		v := b[i]
		for c := range i {
			v -= ri[c] * b[c]
		}
		b[i] = v / ri[i]
	}
	// backward: Lᵀ z = y
	for i := k - 1; i >= 0; i-- {
		v := b[i]
		for r := i + 1; r < k; r++ {
			v -= a[r*k+i] * b[r]
		}
		b[i] = v / a[i*k+i]
	}
	return true
}
