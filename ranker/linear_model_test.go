package ranker

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/tide-live/tide/ranker/linear"
)

// TestLinearComponents trains the optional EASE and linear-transition
// relations, checks each recovers the planted chains on its own and that
// both survive the artifact.
func TestLinearComponents(t *testing.T) {
	cfg := smallConfig()
	cfg.Linear = linear.DefaultConfig()
	cfg.Linear.Lambda = 5
	m, err := Train(context.Background(), chainLog(600, 30, 1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.EASE == nil || m.Trans == nil {
		t.Fatal("linear relations not trained")
	}
	for _, b := range []Blend{{EASE: 1, Pop: 1e-3}, {Trans: 1, Pop: 1e-3}} {
		s := m.WithBlend(b)
		miss := 0
		for c := range 30 {
			h := hist(m, fmt.Sprintf("c%d.0", c), fmt.Sprintf("c%d.1", c))
			rec := s.Recommend(context.Background(), h, 1, nil)
			if s.ItemName(rec[0].Item) != fmt.Sprintf("c%d.2", c) {
				miss++
			}
		}
		if miss > 0 {
			t.Errorf("blend %+v misses the chain's next item for %d of 30 chains", b, miss)
		}
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	l, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	b := Blend{Seq: 1, EASE: 0.5, Trans: 0.5}
	h := hist(m, "c4.0", "noise2")
	x, y := make([]float32, m.NumItems()), make([]float32, m.NumItems())
	m.WithBlend(b).ScoreAll(h, x)
	l.WithBlend(b).ScoreAll(h, y)
	if !slices.Equal(x, y) {
		t.Fatal("loaded model scores the linear relations differently")
	}
}
