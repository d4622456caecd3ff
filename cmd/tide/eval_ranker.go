package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/offline"
)

// evalRanker is `tide eval ranker`: the leave-last-out offline evaluation of
// the ranker against popularity and item-kNN (see ranker/offline).
func evalRanker(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tide eval ranker", flag.ContinueOnError)
	path := fs.String("interactions", "", "TSV with header `user_id\\titem_id\\ttime` (required)")
	configPath := fs.String("config", "", "JSON ranker.Config to train with (default: built-in defaults)")
	printConfig := fs.Bool("print-config", false, "print the default config as JSON and exit")
	tune := fs.Bool("tune", true, "tune the blend weights on the validation targets")
	k := fs.Int("k", 10, "cut-off K of HR@K and NDCG@K")
	negatives := fs.Int("negatives", 99, "sampled negatives per test target for the sampled variant (<0 skips it)")
	seed := fs.Uint64("seed", 1, "seed for negative sampling")
	retrain := fs.Bool("retrain", true, "retrain the model with the validation rows (same config and blend) for the test targets")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := ranker.DefaultConfig()
	if *printConfig {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cfg)
	}
	if *path == "" {
		fs.Usage()
		return fmt.Errorf("--interactions is required")
	}
	if *configPath != "" {
		b, err := os.ReadFile(*configPath)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("%s: %w", *configPath, err)
		}
	}
	f, err := os.Open(*path)
	if err != nil {
		return err
	}
	x, err := ranker.ReadTSV(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *path, err)
	}
	log.Info("read interactions", "path", *path, "rows", x.Len(), "users", x.Users.Len(), "items", x.NumItems())

	o := offline.Options{Config: &cfg, Tune: *tune, K: *k, Negatives: *negatives, Seed: *seed, Components: true, RetrainForTest: *retrain}
	if !*quiet {
		o.Progress = progressPrinter(os.Stderr)
	}
	rep, err := offline.Run(ctx, x, o)
	if err != nil {
		return err
	}
	printRankerReport(os.Stdout, rep, *k)
	return nil
}

// progressPrinter prints one stderr line per stage step, at most every
// 500 ms per stage plus the stage's last step.
func progressPrinter(w io.Writer) ranker.Progress {
	var mu sync.Mutex
	start := time.Now()
	last := map[string]time.Time{}
	return func(stage string, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if done < total && now.Sub(last[stage]) < 500*time.Millisecond {
			return
		}
		last[stage] = now
		fmt.Fprintf(w, "[%6.1fs] %-22s %d/%d\n", now.Sub(start).Seconds(), stage, done, total)
	}
}

func printRankerReport(w io.Writer, r *offline.Report, k int) {
	fmt.Fprintf(w, "leave-last-out: %d users evaluated, %d items, %d training rows; model trained in %.1fs",
		r.Users, r.Items, r.TrainRows, r.TrainTime.Seconds())
	if r.RetrainTime > 0 {
		fmt.Fprintf(w, ", retrained with the validation rows for test in %.1fs", r.RetrainTime.Seconds())
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "blend: seq %.4g  co %.4g  mf %.4g  trend %.4g  pop %.4g", r.Blend.Seq, r.Blend.Co, r.Blend.MF, r.Blend.Trend, r.Blend.Pop)
	if r.TunedValidation.Users > 0 {
		fmt.Fprintf(w, " (tuned on validation in %.1fs: pooled HR@%d %.4f)", r.TuneTime.Seconds(), k, r.TunedValidation.HR)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-12s %-24s %-24s %s\n", "", "validation (full)", "test (full)", fmt.Sprintf("test (%s)", "sampled negatives"))
	fmt.Fprintf(w, "%-12s %-11s %-12s %-11s %-12s %-11s %s\n", "model", fmt.Sprintf("HR@%d", k), fmt.Sprintf("NDCG@%d", k),
		fmt.Sprintf("HR@%d", k), fmt.Sprintf("NDCG@%d", k), fmt.Sprintf("HR@%d", k), fmt.Sprintf("NDCG@%d", k))
	row := func(res offline.Result) {
		fmt.Fprintf(w, "%-12s %-11.4f %-12.4f %-11.4f %-12.4f", res.Name, res.Validation.HR, res.Validation.NDCG, res.Test.HR, res.Test.NDCG)
		if res.Sampled.Users > 0 {
			fmt.Fprintf(w, " %-11.4f %.4f", res.Sampled.HR, res.Sampled.NDCG)
		}
		fmt.Fprintln(w)
	}
	row(r.Popularity)
	row(r.ItemKNN)
	for _, c := range r.Components {
		c.Name = "  " + c.Name
		row(c)
	}
	row(r.Model)
	if k == 10 {
		fmt.Fprintln(w, "peers on amazon-grocery (shared data README, test, full ranking): HR@10 / NDCG@10, this model's ratio to each")
		for _, p := range offline.GroceryPeers() {
			fmt.Fprintf(w, "  %-24s %.4f / %.4f   model x%.3f / x%.3f\n", p.Name, p.HR, p.NDCG, r.Model.Test.HR/p.HR, r.Model.Test.NDCG/p.NDCG)
		}
	}
	fmt.Fprintf(w, "sampled negatives at 5 (the published tables' cut-off): popularity HR@5 %.4f NDCG@5 %.4f, item-knn %.4f/%.4f, model %.4f/%.4f\n",
		r.Popularity.Sampled5.HR, r.Popularity.Sampled5.NDCG, r.ItemKNN.Sampled5.HR, r.ItemKNN.Sampled5.NDCG, r.Model.Sampled5.HR, r.Model.Sampled5.NDCG)
	fmt.Fprintf(w, "hr%d=%.4f ndcg%d=%.4f pop_hr%d=%.4f pop_ndcg%d=%.4f users=%d\n",
		k, r.Model.Test.HR, k, r.Model.Test.NDCG, k, r.Popularity.Test.HR, k, r.Popularity.Test.NDCG, r.Users)
}
