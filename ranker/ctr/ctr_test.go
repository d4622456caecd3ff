package ctr_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
)

// planted draws n impressions whose enter probability is a logistic
// function of three features (CF, follows and 5 min enters) plus noise
// features that carry nothing, in time order.
func planted(n int, seed uint64) ctr.Samples {
	rng := rand.New(rand.NewPCG(seed, 7))
	var s ctr.Samples
	for i := range n {
		var x ctr.Features
		for j := range ctr.N {
			x[j] = rng.NormFloat64()
		}
		x[ctr.CF] = rng.Float64()
		x[ctr.Follows] = float64(rng.IntN(2))
		x[ctr.Live] = 1 // constant: standardisation must cope
		z := -3 + 4*x[ctr.CF] + 1.5*x[ctr.Follows] + 0.8*x[ctr.Enters5m]
		k := s.Add(&x, int64(i)*1000)
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			s.Label(k)
		}
	}
	return s
}

func TestTrainLearnsPlantedSignal(t *testing.T) {
	s := planted(20000, 1)
	m, err := ctr.Train(context.Background(), ctr.Rooms, s, ctr.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("metrics %+v", m.Metrics)
	if m.Metrics.TestAUC <= 0.8 {
		t.Errorf("held-out AUC %.3f, want > 0.8", m.Metrics.TestAUC)
	}
	// On fresh data from the same process.
	auc, _ := m.Evaluate(planted(5000, 2))
	if auc <= 0.8 {
		t.Errorf("fresh-data AUC %.3f, want > 0.8", auc)
	}
	// The planted features dominate, with the planted signs.
	w := m.Weights
	if w[ctr.CF] <= 0 || w[ctr.Follows] <= 0 || w[ctr.Enters5m] <= 0 {
		t.Errorf("weights of the planted features %v %v %v, want positive", w[ctr.CF], w[ctr.Follows], w[ctr.Enters5m])
	}
	for j := range ctr.N {
		switch ctr.Feature(j) {
		case ctr.CF, ctr.Follows, ctr.Enters5m:
			continue
		}
		if math.Abs(w[j]) > 0.1 {
			t.Errorf("noise feature %s has weight %.3f", ctr.RoomNames[j], w[j])
		}
	}
	// The prediction is calibrated around the base rate.
	var mean float64
	for i := range s.X {
		mean += m.Predict(&s.X[i])
	}
	mean /= float64(s.Len())
	if d := math.Abs(mean - m.Metrics.BaseRate); d > 0.01 {
		t.Errorf("mean prediction %.4f vs base rate %.4f", mean, m.Metrics.BaseRate)
	}
}

func TestTrainTooLittleData(t *testing.T) {
	s := planted(50, 1)
	_, err := ctr.Train(context.Background(), ctr.Rooms, s, ctr.DefaultConfig())
	if !errors.Is(err, ranker.ErrTooLittleData) {
		t.Fatalf("err = %v, want ErrTooLittleData", err)
	}
}

func TestAUC(t *testing.T) {
	cases := []struct {
		s    []float64
		y    []bool
		want float64
	}{
		{[]float64{0.1, 0.2, 0.3, 0.4}, []bool{false, false, true, true}, 1},
		{[]float64{0.4, 0.3, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		{[]float64{0.5, 0.5, 0.5, 0.5}, []bool{false, true, false, true}, 0.5},
		{[]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
	}
	for _, c := range cases {
		if got := ctr.AUC(c.s, c.y); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("AUC(%v, %v) = %v, want %v", c.s, c.y, got, c.want)
		}
	}
}

var now = time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)

func room(id, merchant string, live bool) features.RoomFeatures {
	r := features.RoomFeatures{ID: id, Known: true, MerchantID: merchant, Live: live, ViewersNow: 30}
	if live {
		r.StartedAt = now.Add(-20 * time.Minute)
	}
	r.Windows[features.Last5m].Enters = 12
	r.Windows[features.Last5m].Impressions = 100
	return r
}

func trained(t *testing.T) *ctr.Model {
	t.Helper()
	m, err := ctr.Train(context.Background(), ctr.Rooms, planted(5000, 3), ctr.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAvailabilityFilter(t *testing.T) {
	m := trained(t)
	rooms := []features.RoomFeatures{
		room("r1", "m1", true),
		room("r2", "m2", false),      // ended
		{ID: "r3", MerchantID: "m3"}, // unknown to the store
		room("r4", "m4", true),
	}
	// r2 has by far the best CF score and the viewer follows its anchor:
	// it still must not be recommended.
	var u ctr.User
	u.Reset(&features.UserFeatures{Follows: []features.Engagement{{ID: "m2", Last: now}}}, now)
	out := make([]float64, len(rooms))
	m.ScoreRooms(&u, rooms, nil, []float64{0.1, 1, 1, 0.2}, out)
	for i, want := range []bool{true, false, false, true} {
		if got := out[i] != ctr.Unavailable; got != want {
			t.Errorf("room %s available = %v (score %v), want %v", rooms[i].ID, got, out[i], want)
		}
		if want && (out[i] <= 0 || out[i] >= 1) {
			t.Errorf("room %s score %v is not a probability", rooms[i].ID, out[i])
		}
	}
	var x ctr.Features
	u.Room(&x, &rooms[1], "", 1)
	if x[ctr.Live] != 0 || x[ctr.Freshness] != 0 {
		t.Errorf("ended room has live %v freshness %v, want 0", x[ctr.Live], x[ctr.Freshness])
	}
	u.Room(&x, &rooms[0], "", 1)
	if x[ctr.Live] != 1 || x[ctr.Freshness] <= 0 {
		t.Errorf("live room has live %v freshness %v", x[ctr.Live], x[ctr.Freshness])
	}
}

func TestRepeatConsumption(t *testing.T) {
	uf := features.UserFeatures{
		Anchors: []features.Engagement{
			{ID: "m1", Last: now.Add(-2 * time.Hour), Strength: 6, Count: 4}, // revisited often, recently
			{ID: "m3", Last: now.Add(-72 * time.Hour), Strength: 1, Count: 1},
		},
		Categories: []features.Engagement{{ID: "美妆", Strength: 3}, {ID: "食品", Strength: 1}},
		Follows:    []features.Engagement{{ID: "m1", Last: now.Add(-3 * time.Hour)}},
	}
	var u ctr.User
	u.Reset(&uf, now)
	r1, r2, r3 := room("r1", "m1", true), room("r2", "m2", true), room("r3", "m3", true)
	var x1, x2, x3 ctr.Features
	u.Room(&x1, &r1, "美妆", 0.5)
	u.Room(&x2, &r2, "食品", 0.5)
	u.Room(&x3, &r3, "", 0.5)
	for _, f := range []ctr.Feature{ctr.AnchorStrength, ctr.AnchorCount, ctr.AnchorRecency, ctr.Visited, ctr.Follows} {
		if x1[f] <= x2[f] {
			t.Errorf("%s: revisited anchor %v, never visited %v; want higher", ctr.RoomNames[f], x1[f], x2[f])
		}
	}
	if x1[ctr.AnchorRecency] <= x3[ctr.AnchorRecency] {
		t.Errorf("recency: visited 2 h ago %v, 72 h ago %v", x1[ctr.AnchorRecency], x3[ctr.AnchorRecency])
	}
	if x1[ctr.Category] != 0.75 || x2[ctr.Category] != 0.25 || x3[ctr.Category] != 0 {
		t.Errorf("category shares %v %v %v, want 0.75 0.25 0", x1[ctr.Category], x2[ctr.Category], x3[ctr.Category])
	}
	if x2[ctr.CFNew] != 0.5 || x1[ctr.CFNew] != 0 {
		t.Errorf("cf_new %v (revisited) %v (new)", x1[ctr.CFNew], x2[ctr.CFNew])
	}
}

func TestBuildAllocatesNothing(t *testing.T) {
	m := trained(t)
	uf := features.UserFeatures{Anchors: []features.Engagement{{ID: "m1", Last: now, Strength: 1, Count: 1}}}
	rooms := []features.RoomFeatures{room("r1", "m1", true), room("r2", "m2", true)}
	out := make([]float64, 2)
	var u ctr.User
	u.Reset(&uf, now)
	allocs := testing.AllocsPerRun(100, func() {
		u.Reset(&uf, now)
		m.ScoreRooms(&u, rooms, nil, nil, out)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
}

func TestArtifactRoundTrip(t *testing.T) {
	m := trained(t)
	var buf bytes.Buffer
	if err := (&ctr.Artifact{Rooms: m}).Save(&buf); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	a, err := ctr.Load(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if a.Products != nil || a.Rooms == nil {
		t.Fatalf("loaded %+v", a)
	}
	s := planted(100, 9)
	for i := range s.X {
		if p, q := m.Predict(&s.X[i]), a.Rooms.Predict(&s.X[i]); p != q {
			t.Fatalf("prediction %v after loading, %v before", q, p)
		}
	}
	if a.Rooms.Metrics != m.Metrics || a.Rooms.Scale != m.Scale {
		t.Errorf("metrics or standardisation lost")
	}
	bad := bytes.Clone(raw)
	bad[3] = 'X'
	if _, err := ctr.Load(bytes.NewReader(bad)); !errors.Is(err, ranker.ErrBadArtifact) {
		t.Errorf("bad magic: %v", err)
	}
	if _, err := ctr.Load(bytes.NewReader(raw[:len(raw)/2])); !errors.Is(err, ranker.ErrBadArtifact) {
		t.Errorf("truncated: %v", err)
	}
}
