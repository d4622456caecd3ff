package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
	"github.com/tide-live/tide/ranker/train"
	"github.com/tide-live/tide/serving/feed"
)

// modelReloadEvery is how often serving checks for a new model version.
const modelReloadEvery = 30 * time.Second

// learnedModels returns the feed options of the learned scorer for `tide
// serve`:
//
//	TIDE_FEED_CTR_MODEL  the CTR artifact (ctr.bin) the feeds score with;
//	                     reloaded when the file changes
//	TIDE_MODELS_DIR      else, the directory tide train writes (default
//	                     models): when its `current` link exists, the
//	                     feeds score with current/ctr.bin and, unless
//	                     TIDE_FEED_ROOM_MODEL / TIDE_FEED_ANCHOR_MODEL /
//	                     TIDE_FEED_PRODUCT_MODEL name others, its
//	                     anchors.bin and products.bin (the CF models the
//	                     CTR features were built with); the whole version
//	                     is reloaded when `current` moves (train
//	                     promotes or rolls back)
//
// Without either the feeds score with their hand-set weights (the
// cold-start fallback), which the response's reasons say.
func learnedModels(ctx context.Context, log *slog.Logger) ([]feed.Option, error) {
	if path := os.Getenv("TIDE_FEED_CTR_MODEL"); path != "" {
		st := ctr.NewStore(nil)
		if err := st.LoadFile(path); err != nil {
			return nil, fmt.Errorf("TIDE_FEED_CTR_MODEL: %w", err)
		}
		go watchFile(ctx, log, path, st.LoadFile)
		log.Info("feed: scoring with the CTR model", "path", path, "version", st.Artifact().Version)
		return []feed.Option{feed.WithCTRModel(st)}, nil
	}
	dir := serveEnv("TIDE_MODELS_DIR", "models")
	b, err := train.LoadCurrent(dir)
	if errors.Is(err, train.ErrNoCurrent) {
		log.Warn("feed: no trained model version; scoring with the hand-set fallback weights", "models", dir)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("TIDE_MODELS_DIR: %w", err)
	}
	cs := ctr.NewStore(b.CTR)
	opts := []feed.Option{feed.WithCTRModel(cs)}
	var anchors, products *ranker.Store
	if os.Getenv("TIDE_FEED_ROOM_MODEL") == "" && os.Getenv("TIDE_FEED_ANCHOR_MODEL") == "" {
		anchors = ranker.NewStore(b.Anchors)
		opts = append(opts, feed.WithAnchorModel(anchors))
	}
	if os.Getenv("TIDE_FEED_PRODUCT_MODEL") == "" {
		products = ranker.NewStore(b.Products)
		opts = append(opts, feed.WithProductModel(products))
	}
	log.Info("feed: scoring with the trained version", "dir", b.Dir, "version", b.Manifest.Version)
	go watchCurrent(ctx, log, dir, b.Dir, modelReloadEvery, func(b *train.Bundle) {
		if anchors != nil {
			anchors.Swap(b.Anchors)
		}
		if products != nil {
			products.Swap(b.Products)
		}
		cs.Swap(b.CTR)
	})
	return opts, nil
}

// watchFile calls load(path) whenever the file's modification time changes
// (checked every modelReloadEvery); a failed load keeps the old model.
func watchFile(ctx context.Context, log *slog.Logger, path string, load func(string) error) {
	stat := func() time.Time {
		fi, err := os.Stat(path)
		if err != nil {
			return time.Time{}
		}
		return fi.ModTime()
	}
	last := stat()
	t := time.NewTicker(modelReloadEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m := stat(); !m.IsZero() && !m.Equal(last) {
			last = m
			if err := load(path); err != nil {
				log.Warn("feed: model not reloaded", "path", path, "err", err)
				continue
			}
			log.Info("feed: model reloaded", "path", path)
		}
	}
}

// watchCurrent loads the version dir's current link names whenever it
// moves (checked every period) and hands it to swap; a version that fails
// to load keeps the old one.
func watchCurrent(ctx context.Context, log *slog.Logger, dir, loaded string, period time.Duration, swap func(*train.Bundle)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur, err := train.Current(dir)
		if err != nil || filepath.Clean(cur) == filepath.Clean(loaded) {
			continue
		}
		b, err := train.LoadDir(cur)
		if err != nil {
			log.Warn("feed: model version not reloaded", "dir", cur, "err", err)
			loaded = cur // retried when current moves again
			continue
		}
		swap(b)
		loaded = cur
		log.Info("feed: model version reloaded", "dir", cur, "version", b.Manifest.Version)
	}
}
