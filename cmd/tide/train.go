package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/features/fraud/fraudch"
	"github.com/tide-live/tide/features/offline"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ranker/train"
)

// runTrain is `tide train`: train the products, anchors and CTR models from
// ClickHouse's events and write them as a new model version, made current
// only when it beats the current one on the held-out latest hours
// (--holdout; see ranker/train). With --every it retrains on that
// schedule until interrupted; `tide train rollback` moves current back
// one version.
func runTrain(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) > 0 && args[0] == "rollback" {
		return runTrainRollback(args[1:])
	}
	fs := flag.NewFlagSet("tide train", flag.ContinueOnError)
	chAddr := fs.String("clickhouse", ingestEnv("TIDE_CLICKHOUSE_ADDR", "127.0.0.1:19000"), "ClickHouse native address")
	db := fs.String("database", ingestEnv("TIDE_CLICKHOUSE_DATABASE", ingest.DefaultDatabase), "ClickHouse database")
	table := fs.String("table", "events", "events table")
	from := fs.String("from", "", "start of the interactions, RFC 3339 or 2006-01-02 (default: 30 days before --to)")
	to := fs.String("to", "", "end (exclusive) of the interactions, RFC 3339 or 2006-01-02 (default: now)")
	out := fs.String("out", ingestEnv("TIDE_MODELS_DIR", "models"), "directory of model versions; its `current` link names the published one")
	version := fs.String("version", "", "name of the new version (default: the UTC start time, 20060102T150405Z)")
	weightsPath := fs.String("weights", "", "JSON event weights (features/offline.Weights; default: built-in)")
	printWeights := fs.Bool("print-weights", false, "print the default event weights as JSON and exit")
	ctrPeriod := fs.Duration("ctr-period", 24*time.Hour, "the end of the range whose impressions train the CTR models")
	keepFlagged := fs.Bool("keep-flagged", false, "train on the traffic of accounts and devices in fraud_flags too (default: left out)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	holdout := fs.Duration("holdout", 2*time.Hour, "the latest part of the range held out of training; the new version is made current only when it beats the current one on it (0: always publish)")
	every := fs.Duration("every", 0, "retrain on this schedule (e.g. 1h) over the trailing range ending now, until interrupted")
	maxSamples := fs.Int("max-samples", 500_000, "cap on the CTR impressions kept per kind (viewers are subsampled above it): bounds training memory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *every > 0 && (*to != "" || *version != "") {
		return errors.New("--every trains over the trailing range ending now under time-named versions: it takes neither --to nor --version")
	}
	w := offline.DefaultWeights()
	if *printWeights {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(w)
	}
	if *weightsPath != "" {
		raw, err := os.ReadFile(*weightsPath)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &w); err != nil {
			return fmt.Errorf("%s: %w", *weightsPath, err)
		}
		if err := w.Validate(); err != nil {
			return fmt.Errorf("%s: %w", *weightsPath, err)
		}
	}
	span := 30 * 24 * time.Hour
	end := time.Now().UTC()
	if *to != "" {
		t, err := parseTime(*to)
		if err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		end = t
	}
	start := end.Add(-span)
	if *from != "" {
		t, err := parseTime(*from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		start, span = t, end.Sub(t)
	}
	conn, err := ingest.OpenClickHouse(ctx, *chAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	o := train.Options{Database: *db, Table: *table, From: start, To: end, Out: *out, Version: *version,
		Weights: &w, CTRPeriod: *ctrPeriod, Holdout: *holdout, MaxSamples: *maxSamples, Log: log}
	if !*keepFlagged {
		o.Exclude = fraudch.ExcludePredicate(*db)
	}
	if !*quiet {
		o.Progress = progressPrinter(os.Stderr)
	}
	if *every <= 0 {
		return trainOnce(ctx, conn, o)
	}
	return trainEvery(ctx, log, conn, o, *every, span)
}

// trainEvery runs the job now and then every period over the trailing span
// ending at each run's start, until ctx ends. A failed run is logged and
// retried at the next tick (the serving version stays current).
func trainEvery(ctx context.Context, log *slog.Logger, conn driver.Conn, o train.Options, period, span time.Duration) error {
	for {
		o.To = time.Now().UTC()
		o.From = o.To.Add(-span)
		if err := trainOnce(ctx, conn, o); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Error("train: run failed; the current version keeps serving", "err", err)
		}
		next := time.Now().Add(period).Truncate(time.Second)
		log.Info("train: next run", "at", next.UTC().Format(time.RFC3339))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(next)):
		}
	}
}

// trainOnce runs the job once and prints what it made.
func trainOnce(ctx context.Context, conn driver.Conn, o train.Options) error {
	out := &o.Out
	res, err := train.Run(ctx, conn, o)
	if err != nil {
		return err
	}
	m := res.Manifest
	fmt.Printf("version %s in %s (%.1fs), interactions %s – %s\n", m.Version, res.Dir, m.Seconds,
		m.From.Format(time.RFC3339), m.To.Format(time.RFC3339))
	fmt.Printf("products: %d users, %d items, %d pairs, trained in %.1fs\n", m.Products.Users, m.Products.Items, m.Products.Pairs, m.Products.TrainSeconds)
	fmt.Printf("anchors:  %d users, %d items, %d pairs, trained in %.1fs\n", m.Anchors.Users, m.Anchors.Items, m.Anchors.Pairs, m.Anchors.TrainSeconds)
	fmt.Printf("ctr: %d events replayed from %s\n", m.CTR.Events, m.CTR.From.Format(time.RFC3339))
	if r := m.CTR.Rooms; r != nil {
		fmt.Printf("  rooms:    %d impressions, %d enters, held-out AUC %.4f\n", r.Samples, r.Positives, r.TestAUC)
	}
	if p := m.CTR.Products; p != nil {
		fmt.Printf("  products: %d impressions, %d clicks, held-out AUC %.4f\n", p.Samples, p.Positives, p.TestAUC)
	}
	for _, s := range m.CTR.Skipped {
		fmt.Printf("  %s\n", s)
	}
	if d := res.Decision; d != nil {
		verdict := "kept the serving version"
		if d.Promoted {
			verdict = "promoted"
		}
		fmt.Printf("holdout %s – %s: %s (%s)\n", d.From.Format(time.RFC3339), d.To.Format(time.RFC3339), verdict, d.Reason)
	}
	cur, err := train.Current(*out)
	if err != nil {
		return err
	}
	fmt.Printf("%s/%s -> %s\n", *out, train.CurrentLink, filepath.Base(cur))
	return nil
}

// runTrainRollback is `tide train rollback`: current back one version.
func runTrainRollback(args []string) error {
	fs := flag.NewFlagSet("tide train rollback", flag.ContinueOnError)
	out := fs.String("out", ingestEnv("TIDE_MODELS_DIR", "models"), "directory of model versions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	v, err := train.Rollback(*out)
	if err != nil {
		return err
	}
	fmt.Printf("%s/%s -> %s\n", *out, train.CurrentLink, v)
	return nil
}

// parseTime reads RFC 3339 or a UTC date.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", s)
}
