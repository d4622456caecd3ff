package ranker

import "math"

// Scored is an item with its score.
type Scored struct {
	Item  ItemID
	Score float32
}

// better orders by score, then by lower item id, so rankings are
// deterministic.
func better(a, b Scored) bool {
	return a.Score > b.Score || (a.Score == b.Score && a.Item < b.Item)
}

// TopK returns the k highest-scoring items of scores (indexed by ItemID),
// best first, skipping -Inf and NaN. It keeps a size-k min-heap, O(n log k).
func TopK(scores []float32, k int) []Scored {
	if k <= 0 {
		return nil
	}
	return topKInto(scores, k, make([]Scored, 0, k))
}

// topKInto is TopK using h's storage (reset to length 0).
func topKInto(scores []float32, k int, h []Scored) []Scored {
	h = h[:0]
	ninf := float32(math.Inf(-1))
	for i, v := range scores {
		if v == ninf || v != v {
			continue
		}
		s := Scored{ItemID(i), v}
		if len(h) < k {
			h = append(h, s)
			up(h, len(h)-1)
			continue
		}
		if better(s, h[0]) {
			h[0] = s
			down(h, 0)
		}
	}
	// pop into best-first order
	out := h[:len(h)]
	for n := len(h) - 1; n > 0; n-- {
		h[0], h[n] = h[n], h[0]
		down(h[:n], 0)
	}
	return out
}

// up and down maintain a min-heap under better (the root is the worst kept).
func up(h []Scored, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func down(h []Scored, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		w := l
		if r := l + 1; r < len(h) && better(h[l], h[r]) {
			w = r
		}
		if !better(h[i], h[w]) {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}
