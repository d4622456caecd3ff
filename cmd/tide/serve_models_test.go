package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
	"github.com/tide-live/tide/ranker/train"
)

// writeVersion writes a loadable model version (tiny CF models, a room CTR
// model) named v into out.
func writeVersion(t *testing.T, out, v string) {
	t.Helper()
	x := ranker.NewInteractions()
	for u := range 20 {
		for i := range 4 {
			x.Add(fmt.Sprintf("u%d", u), fmt.Sprintf("i%d", (u+i)%8), int64(1000+i), 1)
		}
	}
	cfg := ranker.DefaultConfig()
	cfg.MF.Factors, cfg.MF.Iterations = 4, 2
	m, err := ranker.Train(context.Background(), x, cfg, ranker.WithVersion(v))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, v)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{train.ProductsFile, train.AnchorsFile} {
		if err := m.SaveFile(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	rm := &ctr.Model{Kind: ctr.Rooms, Names: ctr.RoomNames[:]}
	if err := (&ctr.Artifact{Rooms: rm, Version: v}).SaveFile(filepath.Join(dir, train.CTRFile)); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(train.Manifest{Version: v})
	if err := os.WriteFile(filepath.Join(dir, train.ManifestFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tide serve loads the current version and swaps in the next one when
// train moves current (a promotion or a rollback).
func TestServedModelsReload(t *testing.T) {
	out := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t.Setenv("TIDE_FEED_CTR_MODEL", "")
	t.Setenv("TIDE_MODELS_DIR", out)
	if opts, err := learnedModels(ctx, log); err != nil || opts != nil {
		t.Fatalf("no version yet: %d options, %v; want none (hand-set fallback)", len(opts), err)
	}
	writeVersion(t, out, "v1")
	writeVersion(t, out, "v2")
	if err := train.Publish(out, "v1"); err != nil {
		t.Fatal(err)
	}
	if opts, err := learnedModels(ctx, log); err != nil || len(opts) != 3 {
		t.Fatalf("learnedModels: %d options, %v; want the CTR, anchors and products models", len(opts), err)
	}
	got := make(chan string, 4)
	go watchCurrent(ctx, log, out, filepath.Join(out, "v1"), 10*time.Millisecond, func(b *train.Bundle) {
		got <- b.CTR.Version
	})
	if err := train.Publish(out, "v2"); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if v != "v2" {
			t.Fatalf("reloaded %s, want v2", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("v2 was not reloaded")
	}
	if _, err := train.Rollback(out); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if v != "v1" {
			t.Fatalf("after rollback reloaded %s, want v1", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the rollback was not reloaded")
	}
}
