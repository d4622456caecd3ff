package ranker

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

var (
	rerankOnce  sync.Once
	rerankModel *Model
	rerankErr   error
)

// trainReranked trains on a chain log big enough for the re-ranker
// (MinCases pseudo-targets).
func trainReranked(t *testing.T) *Model {
	t.Helper()
	rerankOnce.Do(func() {
		cfg := smallConfig()
		cfg.Rerank = DefaultConfig().Rerank
		rerankModel, rerankErr = Train(context.Background(), chainLog(2500, 40, 7), cfg, WithVersion("rerank"))
	})
	if rerankErr != nil {
		t.Fatal(rerankErr)
	}
	if rerankModel.Rerank == nil {
		t.Fatal("no re-ranker trained on 2500 users")
	}
	return rerankModel
}

// order returns the candidates sorted by score, best first.
func order(cands []ItemID, scores []float64) []ItemID {
	idx := make([]int, len(cands))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return int(cands[a] - cands[b])
	})
	out := make([]ItemID, len(idx))
	for i, j := range idx {
		out[i] = cands[j]
	}
	return out
}

func TestRerankedRecoversChains(t *testing.T) {
	m := trainReranked(t)
	miss := 0
	for c := range 40 {
		h := hist(m, fmt.Sprintf("noise%d", c%20), fmt.Sprintf("c%d.0", c), fmt.Sprintf("c%d.1", c))
		rec := m.Recommend(context.Background(), h, 3, nil)
		if m.ItemName(rec[0].Item) != fmt.Sprintf("c%d.2", c) {
			miss++
		}
	}
	if miss > 2 {
		t.Errorf("the re-ranked model misses the chain's next item for %d of 40 chains", miss)
	}
}

// TestRerankServedMatchesEvaluated: the bounded path the feed uses
// (ScoreInto over its own candidates) orders them as the evaluated
// two-stage ranking (ScoreAll) does, with the trend pass skipped.
func TestRerankServedMatchesEvaluated(t *testing.T) {
	m := trainReranked(t)
	for _, names := range [][]string{{"c3.0", "noise1"}, {"noise4", "c9.0", "c9.1"}, {"c12.0"}} {
		h := hist(m, names...)
		all := make([]float32, m.NumItems())
		m.ScoreAll(h, all)
		for _, e := range h {
			all[e.Item] = float32(-1e30)
		}
		top := TopK(all, 25) // within the 50 the re-ranker orders
		if len(top) != 25 || all[top[24].Item] <= all[top[0].Item]-1e6 {
			t.Fatalf("bad evaluated top %v", top)
		}
		want := make([]ItemID, len(top))
		for i, s := range top {
			want[i] = s.Item
		}
		cands := slices.Clone(want)
		slices.Reverse(cands)
		scores := m.Score(context.Background(), h, cands)
		for _, v := range scores {
			if v <= 0 || v > 1 {
				t.Fatalf("served score %v outside (0, 1]", v)
			}
		}
		if got := order(cands, scores); !slices.Equal(got, want) {
			t.Errorf("history %v: served order %v, evaluated order %v", names, got, want)
		}
	}
}

// TestRerankArtifactDrivesOrder: the re-ranker travels in the artifact,
// and changing its weights changes the served order.
func TestRerankArtifactDrivesOrder(t *testing.T) {
	m := trainReranked(t)
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	l, err := Load(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := hist(m, "noise4", "c9.0")
	cands := make([]ItemID, 0, 60)
	for i := range 60 {
		cands = append(cands, ItemID(i))
	}
	a, b := m.Score(context.Background(), h, cands), l.Score(context.Background(), h, cands)
	if !slices.Equal(a, b) {
		t.Fatal("the loaded artifact scores differently")
	}
	flipped, err := Load(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for i := range flipped.Rerank.W2 {
		flipped.Rerank.W2[i] = -flipped.Rerank.W2[i]
	}
	for i := range flipped.Rerank.Skip {
		flipped.Rerank.Skip[i] = -flipped.Rerank.Skip[i]
	}
	c := flipped.Score(context.Background(), h, cands)
	if o1, o2 := order(cands, a), order(cands, c); o1[0] == o2[0] || slices.Equal(o1, o2) {
		t.Errorf("negated re-ranker weights keep the order (best %v vs %v)", o1[0], o2[0])
	}
	stage := m.WithRerank(nil).Score(context.Background(), h, cands)
	if slices.Equal(order(cands, a), order(cands, stage)) {
		t.Error("the re-ranker does not change the blend's order on any of 60 candidates")
	}
}
