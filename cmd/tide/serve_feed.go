package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/tide-live/tide/ingest"
	"log/slog"
	"os"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/experiment"
	"github.com/tide-live/tide/serving/feed"
)

// mountFeed serves FeedService (room and product feeds, A/B arms) on srv
// for `tide serve`, configured by the environment:
//
//	TIDE_FEED_ROOM_MODEL     room model artifact (ranker); reloaded when the file changes
//	TIDE_FEED_ANCHOR_MODEL   anchors model from tide train (models/current/anchors.bin)
//	TIDE_FEED_PRODUCT_MODEL  product model artifact
//	TIDE_FEED_CTR_MODEL      the learned scorer (ctr.bin); else TIDE_MODELS_DIR/current (see learnedModels)
//	TIDE_FEED_MEMORY         off: no long-term viewer memory from ClickHouse (see longMemory)
//	TIDE_EXPERIMENTS         experiment config (JSON, see serving/experiment)
//	TIDE_FEED_RULES          operator pins and boosts (JSON, see feed.Rules)
//	TIDE_FEED_REPLAY         how much history the online features start with
//	                         (default 6h): loaded from ClickHouse when
//	                         TIDE_CLICKHOUSE_ADDR is set, else replayed from Kafka
//
// The online features follow the events topic until ctx ends; exposures go
// to the topic as EXPERIMENT_EXPOSURE events. A configuration error leaves
// the feed unmounted and /readyz failing with the reason (the server still
// serves Track). It returns the experiment assigner, or nil.
func mountFeed(ctx context.Context, log *slog.Logger, srv *serving.Server, producer experiment.Producer, cfg serveConfig) *experiment.Assigner {
	a, err := startFeed(ctx, log, srv, producer, cfg)
	if err != nil {
		log.Error("feed: not serving", "err", err)
		srv.AddReadyCheck("feed", func(context.Context) error { return err })
	}
	return a
}

// startFeed mounts the feed and returns the experiment assigner (nil when
// no experiments are configured), which Track uses to stamp arms.
func startFeed(ctx context.Context, log *slog.Logger, srv *serving.Server, producer experiment.Producer, cfg serveConfig) (*experiment.Assigner, error) {
	replay, err := time.ParseDuration(serveEnv("TIDE_FEED_REPLAY", "6h"))
	if err != nil {
		return nil, fmt.Errorf("TIDE_FEED_REPLAY: %w", err)
	}
	opts := []feed.Option{feed.WithRegistry(srv.Registry()), feed.WithLogger(log)}
	if cfg.feedCatalog != nil { // room cards, 预告 and shelves from the room registry (serve_live.go)
		opts = append(opts, feed.WithCatalog(cfg.feedCatalog))
	}
	var a *experiment.Assigner
	for _, m := range []struct {
		env string
		opt func(*ranker.Store) feed.Option
	}{
		{"TIDE_FEED_ROOM_MODEL", feed.WithRoomModel},
		{"TIDE_FEED_ANCHOR_MODEL", feed.WithAnchorModel}, // models/current/anchors.bin from tide train
		{"TIDE_FEED_PRODUCT_MODEL", feed.WithProductModel},
	} {
		path := os.Getenv(m.env)
		if path == "" {
			continue
		}
		st := ranker.NewStore(nil)
		if err := st.LoadFile(path); err != nil {
			return nil, fmt.Errorf("%s: %w", m.env, err)
		}
		go reloadModel(ctx, log, st, path)
		opts = append(opts, m.opt(st))
	}
	learned, err := learnedModels(ctx, log) // the CTR scorer (serve_models.go)
	if err != nil {
		return nil, err
	}
	opts = append(opts, learned...)
	opts = append(opts, longMemory(ctx, log)...) // serve_memory.go
	if path := os.Getenv("TIDE_EXPERIMENTS"); path != "" {
		a, err = experiment.LoadFile(path)
		if err != nil {
			return nil, fmt.Errorf("TIDE_EXPERIMENTS: %w", err)
		}
		emit := experiment.KafkaEmitter(producer, cfg.topic, srv.Registry(), log)
		x := experiment.NewExposures(a, srv.Registry(), experiment.WithEmitter(emit), experiment.WithExposureLogger(log))
		opts = append(opts, feed.WithExperiments(a, x))
	}
	if path := os.Getenv("TIDE_FEED_RULES"); path != "" {
		r, err := feed.LoadRules(path)
		if err != nil {
			return nil, fmt.Errorf("TIDE_FEED_RULES: %w", err)
		}
		opts = append(opts, feed.WithRules(r))
	}
	store := features.NewStore(features.WithLogger(log), fraudFilter(ctx, log))
	svc, err := feed.New(store, opts...)
	if err != nil {
		return nil, err
	}
	go func() {
		from := warmFeatures(ctx, log, store, replay)
		err := features.Follow(ctx, store, cfg.brokers, cfg.topic, features.From(from),
			features.WithFollowLogger(log))
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Error("feed: following the events topic stopped", "err", err)
		}
	}()
	srv.Mount(feed.NewHandler(svc).Mount(srv.ConnectOptions()...))
	log.Info("feed: serving FeedService", "replay", replay.String())
	return a, nil
}

// reloadModel swaps in the artifact at path whenever its modification time
// changes (checked every 30 s), keeping the old model if the new one is bad.
func reloadModel(ctx context.Context, log *slog.Logger, st *ranker.Store, path string) {
	stat := func() time.Time {
		fi, err := os.Stat(path)
		if err != nil {
			return time.Time{}
		}
		return fi.ModTime()
	}
	last := stat()
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m := stat(); !m.IsZero() && !m.Equal(last) {
			last = m
			if err := st.LoadFile(path); err != nil {
				log.Warn("feed: model not reloaded", "path", path, "err", err)
				continue
			}
			log.Info("feed: model reloaded", "path", path, "version", st.Model().Version)
		}
	}
}

// warmFeatures loads the last replay window of events from ClickHouse into
// store when TIDE_CLICKHOUSE_ADDR is set (TIDE_CLICKHOUSE_DATABASE, default
// tide), and returns the cut from which the events topic is to be followed.
// Without ClickHouse, or when its query fails, the whole window is replayed
// from Kafka instead, which is slower but gives the same features. (A read
// that breaks off midway leaves the events loaded so far applied, and the
// replay counts them again: logged as a warning, rare, and self-healing as
// the windows slide.)
func warmFeatures(ctx context.Context, log *slog.Logger, store *features.Store, replay time.Duration) time.Time {
	since := time.Now().Add(-replay)
	addr := os.Getenv("TIDE_CLICKHOUSE_ADDR")
	if addr == "" {
		return since
	}
	conn, err := ingest.OpenClickHouse(ctx, addr)
	if err != nil {
		log.Warn("feed: warm-up from ClickHouse skipped, replaying Kafka", "err", err)
		return since
	}
	defer conn.Close()
	cut, err := features.WarmUp(ctx, store, conn, since,
		features.WarmUpTable(serveEnv("TIDE_CLICKHOUSE_DATABASE", "tide"), "events"), features.WarmUpLogger(log))
	if err != nil {
		log.Warn("feed: warm-up from ClickHouse failed, replaying Kafka", "err", err)
		return since
	}
	log.Info("feed: warmed up from ClickHouse", "since", since, "cut", cut)
	return cut
}
