package neighbors

import (
	"context"
	"errors"
	"math"
	"testing"
)

// three short histories whose counts are worked out by hand in the tests.
var handSeqs = []Sequence{
	{Items: []int32{0, 1, 2}, Times: []int64{1, 2, 3}},
	{Items: []int32{0, 1}, Times: []int64{1, 1}}, // bought together
	{Items: []int32{1, 2}, Times: []int64{5, 6}},
}

func handConfig() Config {
	return Config{MaxNeighbors: 10, CoAlpha: 0.5, MaxGap: 2, GapDecay: 0.5, SameTimeBoth: true, SeqBeta: 1}
}

func row(r *Relation, a int32) map[int32]float64 {
	nb, ws := r.Row(a)
	m := map[int32]float64{}
	for j, b := range nb {
		m[b] = float64(ws[j])
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func assertRow(t *testing.T, name string, got, want map[int32]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", name, got, want)
	}
	for b, w := range want {
		if !near(got[b], w) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestCoOccurrenceCosine(t *testing.T) {
	m, err := Train(context.Background(), handSeqs, 3, handConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// counts: n0=2 n1=3 n2=2; C(0,1)=2 C(0,2)=1 C(1,2)=2
	assertRow(t, "co(0)", row(&m.Co, 0), map[int32]float64{1: 2 / math.Sqrt(6), 2: 0.5})
	assertRow(t, "co(1)", row(&m.Co, 1), map[int32]float64{0: 2 / math.Sqrt(6), 2: 2 / math.Sqrt(6)})
	if nb, ws := m.Co.Row(0); nb[0] != 1 || ws[0] < ws[1] {
		t.Fatalf("row 0 not strongest first: %v %v", nb, ws)
	}
}

func TestSequentialTransitions(t *testing.T) {
	m, err := Train(context.Background(), handSeqs, 3, handConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// from 0: 0→1 twice (gap 1), 0→2 once at gap 2 (weight 0.5); total 2.5
	assertRow(t, "seq(0)", row(&m.Seq, 0), map[int32]float64{1: 2 / 2.5, 2: 0.5 / 2.5})
	// from 1: 1→2 twice; 1→0 once, because they share a timestamp
	assertRow(t, "seq(1)", row(&m.Seq, 1), map[int32]float64{2: 2.0 / 3, 0: 1.0 / 3})
	assertRow(t, "seq(2)", row(&m.Seq, 2), map[int32]float64{})

	cfg := handConfig()
	cfg.SameTimeBoth = false
	m, _ = Train(context.Background(), handSeqs, 3, cfg, nil)
	assertRow(t, "seq(1) ordered", row(&m.Seq, 1), map[int32]float64{2: 1})

	cfg = handConfig()
	cfg.MaxNeighbors = 1
	cfg.SeqBeta = 0 // raw counts
	m, _ = Train(context.Background(), handSeqs, 3, cfg, nil)
	assertRow(t, "seq(0) top-1 raw", row(&m.Seq, 0), map[int32]float64{1: 2})
}

func TestAddAndClearRow(t *testing.T) {
	m, _ := Train(context.Background(), handSeqs, 3, handConfig(), nil)
	acc := make([]float32, 3)
	m.Seq.AddRow(0, 2, acc)
	if !near(float64(acc[1]), 1.6) || !near(float64(acc[2]), 0.4) || acc[0] != 0 {
		t.Fatalf("acc = %v", acc)
	}
	m.Seq.ClearRow(0, acc)
	if acc != nil && (acc[0] != 0 || acc[1] != 0 || acc[2] != 0) {
		t.Fatalf("acc not cleared: %v", acc)
	}
}

func TestTrainErrors(t *testing.T) {
	if _, err := Train(context.Background(), nil, 3, handConfig(), nil); !errors.Is(err, ErrNoData) {
		t.Fatalf("no data: err = %v", err)
	}
	bad := []Sequence{{Items: []int32{0, 5}}}
	if _, err := Train(context.Background(), bad, 3, handConfig(), nil); err == nil {
		t.Fatal("item out of range accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, handSeqs, 3, handConfig(), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
}
