package train_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tide-live/tide/features/eventstest"
	"github.com/tide-live/tide/ranker/ctr"
	"github.com/tide-live/tide/ranker/train"
)

// antiVersion writes version name into out: a copy of version src whose
// CTR models are negated, so they rank the held-out impressions backwards.
func antiVersion(t *testing.T, out, src, name string) string {
	t.Helper()
	b, err := train.LoadDir(filepath.Join(out, src))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{train.ProductsFile, train.AnchorsFile} {
		raw, err := os.ReadFile(filepath.Join(out, src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*ctr.Model{b.CTR.Rooms, b.CTR.Products} {
		if m == nil {
			continue
		}
		m.Bias = -m.Bias
		for i := range m.Weights {
			m.Weights[i] = -m.Weights[i]
		}
	}
	b.CTR.Version = name
	if err := b.CTR.SaveFile(filepath.Join(dir, train.CTRFile)); err != nil {
		t.Fatal(err)
	}
	b.Manifest.Version = name
	raw, _ := json.Marshal(b.Manifest)
	if err := os.WriteFile(filepath.Join(dir, train.ManifestFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func current(t *testing.T, out string) string {
	t.Helper()
	dir, err := train.Current(out)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(dir)
}

// TestHoldoutGate: the first version is promoted; a version worse on the
// holdout is written but not promoted; a better one replaces a bad
// current one; rollback walks back the promotions.
func TestHoldoutGate(t *testing.T) {
	conn, db := eventstest.Open(t)
	es := simulate(300, 30, 36*time.Hour)
	eventstest.Insert(t, conn, db, es)
	out := t.TempDir()
	ctx := context.Background()
	end := simStart.Add(36 * time.Hour)
	stages := map[string]bool{}
	o := train.Options{Database: db, From: simStart, To: end, Out: out, Version: "v1", CTRPeriod: 12 * time.Hour,
		Holdout: 4 * time.Hour, Log: slog.New(slog.DiscardHandler), Progress: func(s string, _, _ int) { stages[s] = true }}
	res, err := train.Run(ctx, conn, o)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Decision
	if d == nil || !d.Promoted || current(t, out) != "v1" {
		t.Fatalf("first version: decision %+v, current %s", d, current(t, out))
	}
	if !res.Manifest.To.Equal(end.Add(-4*time.Hour)) || !stages["holdout replay (minutes of stream)"] {
		t.Fatalf("trained to %s (want the holdout left out), stages %v", res.Manifest.To, stages)
	}
	if d.Candidate.RoomSamples < 200 || d.Candidate.RoomAUC < 0.55 { // better than chance on unseen hours
		t.Fatalf("v1 on the holdout: %+v", d.Candidate)
	}
	t.Logf("v1 holdout: %+v", d.Candidate)

	// A worse version is not promoted.
	bad := antiVersion(t, out, "v1", "bad")
	d, err = train.Promote(ctx, conn, o, bad, end.Add(-4*time.Hour), end)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bad: %s", d.Reason)
	if d.Promoted || current(t, out) != "v1" {
		t.Fatalf("a worse version was promoted: %+v, current %s", d, current(t, out))
	}
	if d.Serving == nil || d.Candidate.Score >= d.Serving.Score {
		t.Fatalf("scores: candidate %+v, serving %+v", d.Candidate, d.Serving)
	}
	if _, err := os.Stat(filepath.Join(bad, train.DecisionFile)); err != nil {
		t.Errorf("no decision recorded: %v", err)
	}

	// With the bad version current (published by hand), a retrained good
	// one beats it and is promoted.
	if err := train.Publish(out, "bad"); err != nil {
		t.Fatal(err)
	}
	o.Version = "v2"
	res, err = train.Run(ctx, conn, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Decision.Promoted || current(t, out) != "v2" {
		t.Fatalf("v2 over bad: %+v, current %s", res.Decision, current(t, out))
	}

	// Rollback: v2 → bad → v1, then nothing earlier.
	for _, want := range []string{"bad", "v1"} {
		got, err := train.Rollback(out)
		if err != nil || got != want || current(t, out) != want {
			t.Fatalf("rollback = %q, %v (current %s), want %s", got, err, current(t, out), want)
		}
	}
	if _, err := train.Rollback(out); !errors.Is(err, train.ErrNoPrevious) {
		t.Fatalf("rollback past the first version: %v", err)
	}
}
