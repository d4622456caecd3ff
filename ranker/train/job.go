package train

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/features/offline"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
)

// Options configure Run.
type Options struct {
	// Database and Table name the events table (default tide.events).
	Database, Table string
	// From and To bound the interactions by received time, [From, To).
	From, To time.Time
	// Out is the directory of model versions (default "models").
	Out string
	// Version names the new version (default the UTC start time of the
	// job, 20060102T150405Z).
	Version string
	// Weights turn events into interaction strength (default
	// offline.DefaultWeights()).
	Weights *offline.Weights
	// Products and Anchors configure the CF models (default
	// ProductsConfig() and AnchorsConfig()).
	Products, Anchors *ranker.Config
	// CTR configures the CTR models (default ctr.DefaultConfig()).
	CTR *ctr.Config
	// CTRPeriod is the end of the range whose impressions train the CTR
	// models (default 24 h, at most half the range); the CF scores of their
	// features come from models trained on the interactions before it.
	CTRPeriod time.Duration
	// CTRWarmUp is how much of the stream before the CTR period is replayed
	// to fill the online features first (default 24 h).
	CTRWarmUp time.Duration
	// MinUsers, MinItems and MinPairs are the least data a CF model trains
	// on (defaults 5, 5 and 50); less is an error wrapping
	// ranker.ErrTooLittleData.
	MinUsers, MinItems, MinPairs int
	// Exclude is an SQL condition over the events table that an event must
	// meet to be trained on (both the CF extraction and the CTR replay),
	// e.g. fraudch.ExcludePredicate(Database) to leave flagged traffic out.
	// Empty: every event counts.
	Exclude string
	// Holdout, when positive, holds the latest part of [From, To) out of
	// training: the models train on [From, To−Holdout), and the new version
	// is made current only when it beats the current one on the held-out
	// events (Promote). Zero publishes every version unconditionally.
	Holdout time.Duration
	// HoldoutWarmUp is how much stream before the holdout is replayed to
	// fill the online features (default 6 h, what tide serve replays).
	HoldoutWarmUp time.Duration
	// MinGain is how much higher a new version's holdout score must be
	// than the serving one's to be promoted (default 0: strictly higher).
	MinGain float64
	// MaxSamples caps the impressions of each kind (rooms, products) kept
	// as CTR samples in the training and holdout replays (default 500 000,
	// about 110 MB per kind): above it, viewers are subsampled.
	MaxSamples int
	// Progress, if set, receives the stage, done and total of every step.
	Progress ranker.Progress
	Log      *slog.Logger
}

// Result is what Run wrote.
type Result struct {
	Dir      string
	Manifest Manifest
	// Decision is the holdout gate's, with Options.Holdout (else nil:
	// published unconditionally).
	Decision *Decision
}

func (o *Options) defaults() {
	if o.Database == "" {
		o.Database = "tide"
	}
	if o.Table == "" {
		o.Table = "events"
	}
	if o.Out == "" {
		o.Out = "models"
	}
	if o.Weights == nil {
		w := offline.DefaultWeights()
		o.Weights = &w
	}
	if o.Products == nil {
		c := ProductsConfig()
		o.Products = &c
	}
	if o.Anchors == nil {
		c := AnchorsConfig()
		o.Anchors = &c
	}
	if o.CTR == nil {
		c := ctr.DefaultConfig()
		o.CTR = &c
	}
	if o.CTRPeriod <= 0 {
		o.CTRPeriod = 24 * time.Hour
	}
	if o.CTRWarmUp <= 0 {
		o.CTRWarmUp = 24 * time.Hour
	}
	if o.MinUsers <= 0 {
		o.MinUsers = 5
	}
	if o.MinItems <= 0 {
		o.MinItems = 5
	}
	if o.MinPairs <= 0 {
		o.MinPairs = 50
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Progress == nil {
		o.Progress = func(string, int, int) {}
	}
	if o.HoldoutWarmUp <= 0 {
		o.HoldoutWarmUp = 6 * time.Hour
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = 500_000
	}
}

// Run is the training job behind `tide train`: it extracts the users ×
// products and users × anchors interactions of [From, To) from ClickHouse
// (features/offline), trains both CF models, replays the stream of the
// CTR period through an online features store to fit the room and product
// CTR models, writes the version directory and makes it current.
//
// Too little data for either CF model is an error wrapping
// ranker.ErrTooLittleData, and nothing is written. A CTR model with too
// little data is left out (serving falls back to the CF score), and the
// manifest says why.
func Run(ctx context.Context, conn driver.Conn, o Options) (*Result, error) {
	began := time.Now()
	o.defaults()
	if !o.From.Before(o.To) {
		return nil, fmt.Errorf("train: empty time range [%s, %s)", o.From.UTC().Format(time.RFC3339), o.To.UTC().Format(time.RFC3339))
	}
	if o.Version == "" {
		o.Version = began.UTC().Format("20060102T150405Z")
	}
	if err := checkVersion(o.Out, o.Version); err != nil {
		return nil, err
	}
	end := o.To
	if o.Holdout > 0 {
		o.To = end.Add(-o.Holdout)
		if !o.From.Before(o.To) {
			return nil, fmt.Errorf("train: the holdout %s leaves no training range in [%s, %s)", o.Holdout,
				o.From.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
		}
	}
	man := Manifest{Version: o.Version, CreatedAt: began.UTC(), From: o.From.UTC(), To: o.To.UTC(), Weights: *o.Weights}
	x := offline.New(conn, offline.WithTable(o.Database, o.Table), offline.WithWeights(*o.Weights),
		offline.WithMinimum(o.MinUsers, o.MinItems, o.MinPairs), offline.WithLogger(o.Log), offline.WithExclude(o.Exclude),
		offline.WithProgress(func(p offline.Progress) {
			o.Progress("extract", int(p.ReadRows), int(max(p.TotalRows, p.ReadRows)))
		}, time.Second))

	// The serving models, on the whole range: fail early on too little data.
	products, pinfo, err := o.cf(ctx, x, offline.Products, o.From, o.To, *o.Products)
	if err != nil {
		return nil, err
	}
	anchors, ainfo, err := o.cf(ctx, x, offline.Anchors, o.From, o.To, *o.Anchors)
	if err != nil {
		return nil, err
	}
	man.Products, man.Anchors = pinfo, ainfo

	art, cinfo, err := o.ctr(ctx, conn, x)
	if err != nil {
		return nil, err
	}
	man.CTR = cinfo
	man.Seconds = time.Since(began).Seconds()
	dir, err := write(o.Out, &man, products, anchors, art)
	if err != nil {
		return nil, err
	}
	res := &Result{Dir: dir, Manifest: man}
	if o.Holdout <= 0 {
		if err := Publish(o.Out, man.Version); err != nil {
			return nil, err
		}
		o.Log.Info("train: published", "version", man.Version, "dir", dir, "seconds", man.Seconds)
		return res, nil
	}
	if res.Decision, err = Promote(ctx, conn, o, dir, o.To, end); err != nil {
		return nil, err
	}
	return res, nil
}

// cf extracts one kind's interactions of [from, to) and trains its model.
func (o *Options) cf(ctx context.Context, x *offline.Extractor, kind offline.ItemKind, from, to time.Time, cfg ranker.Config) (*ranker.Model, ModelInfo, error) {
	info := ModelInfo{File: ProductsFile}
	if kind == offline.Anchors {
		info.File = AnchorsFile
	}
	m, err := x.Matrix(ctx, offline.Query{Kind: kind, From: from, To: to})
	if errors.Is(err, offline.ErrTooLittleData) {
		return nil, info, fmt.Errorf("train: %w (%w)", ranker.ErrTooLittleData, err)
	}
	if err != nil {
		return nil, info, fmt.Errorf("train: %w", err)
	}
	info.Users, info.Items, info.Pairs = len(m.Users), len(m.Items), m.NNZ()
	o.Log.Info("train: interactions", "kind", kind, "users", info.Users, "items", info.Items, "pairs", info.Pairs)
	start := time.Now()
	model, err := ranker.Train(ctx, FromMatrix(m), cfg, ranker.WithVersion(o.Version),
		ranker.WithProgress(func(stage string, d, t int) { o.Progress(kind.String()+" "+stage, d, t) }))
	if err != nil {
		return nil, info, fmt.Errorf("train: %s model: %w", kind, err)
	}
	info.TrainSeconds = time.Since(start).Seconds()
	return model, info, nil
}

// ctr fits the CTR models on the impressions of the CTR period, with CF
// scores from models trained before it.
func (o *Options) ctr(ctx context.Context, conn driver.Conn, x *offline.Extractor) (*ctr.Artifact, CTRInfo, error) {
	period := min(o.CTRPeriod, o.To.Sub(o.From)/2)
	from := o.To.Add(-period)
	info := CTRInfo{File: CTRFile, From: from.UTC(), To: o.To.UTC()}
	start := time.Now()
	// CF models of the time before the CTR period; without enough data
	// for one, its CF feature is unknown throughout (and gets no weight).
	var early [2]*ranker.Model
	for _, k := range []offline.ItemKind{offline.Products, offline.Anchors} {
		cfg := *o.Products
		if k == offline.Anchors {
			cfg = *o.Anchors
		}
		m, _, err := o.cf(ctx, x, k, o.From, from, cfg)
		switch {
		case errors.Is(err, ranker.ErrTooLittleData):
			info.Skipped = append(info.Skipped, fmt.Sprintf("no %s CF feature: %v", k, err))
			o.Log.Warn("train: CTR features without CF", "kind", k, "err", err)
		case err != nil:
			return nil, info, err
		}
		early[k] = m
	}
	store := features.NewStore(features.WithUserTTL(o.CTRWarmUp+period+time.Hour),
		features.WithTTL(65*time.Minute, 48*time.Hour), features.WithLogger(o.Log))
	keep, err := o.keepFraction(ctx, conn, from, o.To)
	if err != nil {
		return nil, info, err
	}
	scfg := DefaultSamplerConfig()
	scfg.Keep, info.Keep = keep, keep
	smp := NewSampler(store, early[offline.Anchors], early[offline.Products], from, scfg)
	total := int(o.To.Sub(from.Add(-o.CTRWarmUp)) / time.Minute)
	replayFrom := from.Add(-o.CTRWarmUp)
	last := time.Now()
	n, err := replayEvents(ctx, conn, o.Database, o.Table, o.Exclude, replayFrom, o.To, func(e *tidev1.Event) {
		smp.Apply(e)
		if time.Since(last) >= time.Second {
			last = time.Now()
			o.Progress("ctr replay (minutes of stream)", int(time.UnixMilli(e.GetReceivedAt()).Sub(replayFrom)/time.Minute), total)
		}
	})
	if err != nil {
		return nil, info, err
	}
	o.Progress("ctr replay (minutes of stream)", total, total)
	info.Events = n
	art := &ctr.Artifact{Version: o.Version}
	for _, k := range []ctr.Kind{ctr.Rooms, ctr.Products} {
		s := smp.Rooms
		if k == ctr.Products {
			s = smp.Products
		}
		m, err := ctr.Train(ctx, k, s, *o.CTR)
		switch {
		case errors.Is(err, ranker.ErrTooLittleData):
			info.Skipped = append(info.Skipped, fmt.Sprintf("no %s CTR model: %v", k, err))
			o.Log.Warn("train: no CTR model", "kind", k, "err", err)
			continue
		case err != nil:
			return nil, info, err
		}
		met := m.Metrics
		if k == ctr.Rooms {
			art.Rooms, info.Rooms = m, &met
		} else {
			art.Products, info.Products = m, &met
		}
		o.Log.Info("train: CTR model", "kind", k, "samples", met.Samples, "positives", met.Positives, "test_auc", met.TestAUC)
		o.Progress("ctr "+string(k), 1, 1)
	}
	info.TrainSeconds = time.Since(start).Seconds()
	return art, info, nil
}
