package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/tide-live/tide/features/memory"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/serving/feed"
)

// longMemory returns the feed option of the viewers' long-term memory
// (durable follows, anchors and categories over 30 days; see
// features/memory), read from ClickHouse at start when TIDE_CLICKHOUSE_ADDR
// is set and reloaded every TIDE_FEED_MEMORY_RELOAD (default 10m);
// TIDE_FEED_MEMORY=off disables it. A failed load leaves the feed on its
// online window alone (logged), as before.
func longMemory(ctx context.Context, log *slog.Logger) []feed.Option {
	addr := os.Getenv("TIDE_CLICKHOUSE_ADDR")
	if addr == "" || os.Getenv("TIDE_FEED_MEMORY") == "off" {
		return nil
	}
	every, err := time.ParseDuration(serveEnv("TIDE_FEED_MEMORY_RELOAD", "10m"))
	if err != nil || every <= 0 {
		log.Warn("feed: TIDE_FEED_MEMORY_RELOAD is not a positive duration; using 10m", "err", err)
		every = 10 * time.Minute
	}
	conn, err := ingest.OpenClickHouse(ctx, addr)
	if err != nil {
		log.Warn("feed: long-term memory not loaded", "err", err)
		return nil
	}
	o := memory.Options{Database: serveEnv("TIDE_CLICKHOUSE_DATABASE", "tide"), Log: log}
	m, err := memory.Load(ctx, conn, o)
	if err != nil {
		conn.Close()
		log.Warn("feed: long-term memory not loaded", "err", err)
		return nil
	}
	go func() {
		defer conn.Close()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := m.Reload(ctx, conn, o); err != nil && ctx.Err() == nil {
				log.Warn("feed: long-term memory not reloaded; keeping the last", "err", err)
			}
		}
	}()
	return []feed.Option{feed.WithMemory(m)}
}
