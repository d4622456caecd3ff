package ranker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// chainLog plants a sequential structure: items come in chains of three
// (c0 → c1 → c2, one day apart) and every user buys one or two whole
// chains, in order, plus a random "noise" item.
func chainLog(users, chains int, seed uint64) *Interactions {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := NewInteractions()
	for u := range users {
		user := fmt.Sprintf("u%d", u)
		t := int64(rng.IntN(1000)) * 86400
		x.Add(user, fmt.Sprintf("noise%d", rng.IntN(20)), t, 1)
		for range 1 + rng.IntN(2) {
			c := rng.IntN(chains)
			for j := range 3 {
				t += 86400
				x.Add(user, fmt.Sprintf("c%d.%d", c, j), t, 1)
			}
		}
	}
	return x
}

func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.MF.Factors = 8
	cfg.MF.Iterations = 5
	cfg.Rerank = RerankConfig{} // the blend alone; rerank_test.go covers the re-ranker
	return cfg
}

func trainChains(t testing.TB) *Model {
	t.Helper()
	m, err := Train(context.Background(), chainLog(600, 30, 1), smallConfig(), WithVersion("test"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func hist(m *Model, names ...string) History {
	h := make(History, len(names))
	for i, n := range names {
		id, ok := m.Item(n)
		if !ok {
			panic("unknown item " + n)
		}
		h[i] = Event{Item: id, Time: int64(i) * 86400, Weight: 1}
	}
	return h
}

func TestModelRecoversChains(t *testing.T) {
	m := trainChains(t)
	for c := range 30 {
		h := hist(m, fmt.Sprintf("noise%d", c%20), fmt.Sprintf("c%d.0", c), fmt.Sprintf("c%d.1", c))
		rec := m.Recommend(context.Background(), h, 3, nil)
		if got, want := m.ItemName(rec[0].Item), fmt.Sprintf("c%d.2", c); got != want {
			t.Errorf("after c%d.0, c%d.1 the top item is %s (%v), want %s", c, c, got, rec, want)
		}
	}
}

func TestScoreMatchesScoreAll(t *testing.T) {
	m := trainChains(t)
	h := hist(m, "c3.0", "noise1")
	all := make([]float32, m.NumItems())
	m.ScoreAll(h, all)
	cands := []ItemID{5, 0, 17, ItemID(m.NumItems() - 1), -1, ItemID(m.NumItems())}
	got := m.Score(context.Background(), h, cands)
	for j, c := range cands {
		want := 0.0
		if c >= 0 && int(c) < m.NumItems() {
			want = float64(all[c])
		}
		if d := got[j] - want; d > 1e-6 || d < -1e-6 {
			t.Errorf("Score(%d) = %v, ScoreAll = %v", c, got[j], want)
		}
	}
	// scratch must come back clean: scoring again gives the same numbers
	again := m.Score(context.Background(), h, cands)
	if !slices.Equal(got, again) {
		t.Fatalf("second Score differs: %v vs %v", got, again)
	}
}

func TestRecommendExcludes(t *testing.T) {
	m := trainChains(t)
	h := hist(m, "c4.0")
	next, _ := m.Item("c4.1")
	rec := m.Recommend(context.Background(), h, 10, []ItemID{next})
	if len(rec) != 10 {
		t.Fatalf("got %d items, want 10", len(rec))
	}
	for i, s := range rec {
		if s.Item == h[0].Item || s.Item == next {
			t.Fatalf("recommended excluded item %s", m.ItemName(s.Item))
		}
		if i > 0 && rec[i-1].Score < s.Score {
			t.Fatalf("not sorted: %v", rec)
		}
	}
	if got := m.ItemName(rec[0].Item); got != "c4.2" {
		t.Fatalf("with c4.1 excluded the top item is %s, want c4.2", got)
	}
}

func TestColdUserGetsPopular(t *testing.T) {
	m := trainChains(t)
	rec := m.Recommend(context.Background(), nil, 5, nil)
	if len(rec) != 5 {
		t.Fatalf("cold user got %d items, want 5", len(rec))
	}
	for i := 1; i < len(rec); i++ {
		if m.Pop[rec[i].Item] > m.Pop[rec[i-1].Item] {
			t.Fatalf("cold-user list is not by popularity: %v", rec)
		}
	}
}

func TestScoreIntoDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	m := trainChains(t)
	h := hist(m, "noise2", "c1.0", "c1.1")
	cands := make([]ItemID, m.NumItems())
	for i := range cands {
		cands[i] = ItemID(i)
	}
	out := make([]float64, len(cands))
	m.ScoreInto(h, cands, out) // warm the pool
	if a := testing.AllocsPerRun(50, func() { m.ScoreInto(h, cands, out) }); a > 0 {
		t.Fatalf("ScoreInto allocates %.1f times per call", a)
	}
}

func TestTrainTooLittleData(t *testing.T) {
	_, err := Train(context.Background(), NewInteractions(), DefaultConfig())
	if !errors.Is(err, ErrTooLittleData) {
		t.Fatalf("err = %v, want ErrTooLittleData", err)
	}
}

func TestArtifactRoundTrip(t *testing.T) {
	m := trainChains(t)
	path := filepath.Join(t.TempDir(), "model.bin")
	if err := m.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	l, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != "test" || l.NumItems() != m.NumItems() || !l.TrainedAt.Equal(m.TrainedAt) {
		t.Fatalf("loaded %q/%d/%v, saved %q/%d/%v", l.Version, l.NumItems(), l.TrainedAt, m.Version, m.NumItems(), m.TrainedAt)
	}
	h := hist(m, "c7.0", "noise3")
	a, b := make([]float32, m.NumItems()), make([]float32, m.NumItems())
	m.ScoreAll(h, a)
	l.ScoreAll(h, b)
	if !slices.Equal(a, b) {
		t.Fatal("loaded model scores differently")
	}
	if id, ok := l.Item("c7.1"); !ok || id != hist(m, "c7.1")[0].Item {
		t.Fatal("loaded model lost the item index")
	}
}

func TestArtifactRejectsBadInput(t *testing.T) {
	m := trainChains(t)
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	otherVersion := slices.Clone(good)
	binary.BigEndian.PutUint32(otherVersion[8:], FormatVersion+1)
	for name, data := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("NOTMODEL"), good[8:]...),
		"version":   otherVersion,
		"truncated": good[:len(good)/2],
	} {
		if _, err := Load(bytes.NewReader(data)); !errors.Is(err, ErrBadArtifact) {
			t.Errorf("%s: err = %v, want ErrBadArtifact", name, err)
		}
	}
}

func TestStoreSwapUnderLoad(t *testing.T) {
	a := trainChains(t)
	b := a.WithBlend(Blend{Pop: 1})
	s := NewStore(a)
	h := hist(a, "c2.0")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]float64, 3)
			for range 200 {
				s.Model().ScoreInto(h, []ItemID{0, 1, 2}, out)
			}
		}()
	}
	for i := range 50 {
		if i%2 == 0 {
			s.Swap(b)
		} else {
			s.Swap(a)
		}
	}
	wg.Wait()
	if old := s.Swap(b); old != a {
		t.Fatal("Swap did not return the previous model")
	}
	if s.Model() != b {
		t.Fatal("Model is not the swapped-in model")
	}
}

func TestTopK(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	scores := make([]float32, 1000)
	for i := range scores {
		scores[i] = float32(rng.IntN(50)) // many ties
	}
	scores[7] = float32(math.Inf(-1))
	got := TopK(scores, 25)
	var all []Scored
	for i, v := range scores {
		if i != 7 {
			all = append(all, Scored{ItemID(i), v})
		}
	}
	slices.SortFunc(all, func(a, b Scored) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	if !slices.Equal(got, all[:25]) {
		t.Fatalf("TopK = %v\nwant %v", got, all[:25])
	}
	if n := len(TopK(scores[:3], 10)); n != 3 {
		t.Fatalf("TopK of 3 scores returned %d", n)
	}
}
