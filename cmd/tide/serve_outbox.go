package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-live/tide/ingest/outbox"
)

// setupOutbox runs the one outbox relay of `tide serve` when
// TIDE_POSTGRES_URL is set: the room registry (serve_live.go) and checkout
// (serve_commerce.go) write their events to the same PostgreSQL table, and
// this relay publishes them to cfg.topic. It applies the outbox's
// migrations first (advisory-locked, so it is safe next to the registry's
// and checkout's own, which apply them too before writing). Everything
// stops when ctx ends.
func setupOutbox(ctx context.Context, log *slog.Logger, cfg serveConfig) error {
	url := os.Getenv("TIDE_POSTGRES_URL")
	if url == "" {
		return nil
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := outbox.Migrate(ctx, pool, log); err != nil {
		pool.Close()
		return err
	}
	kc, err := outbox.NewKafkaClient(cfg.brokers, kgo.WithLogger(serveKafkaLogger{log}))
	if err != nil {
		pool.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	relay := outbox.NewRelay(pool, kc, outbox.WithTopic(cfg.topic), outbox.WithLogger(log))
	go func() {
		defer pool.Close()
		defer kc.Close()
		if err := relay.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("outbox relay stopped", "err", err)
		}
	}()
	log.Info("outbox relay running", "topic", cfg.topic)
	return nil
}
