package main

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/tide-live/tide/commerce/democatalog"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/features/memory"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/search"
	"github.com/tide-live/tide/serving/feed"
)

// longMemory returns the feed option of the viewers' long-term memory
// (durable follows, anchors and categories over 30 days; see
// features/memory), read from ClickHouse at start when TIDE_CLICKHOUSE_ADDR
// is set and reloaded every TIDE_FEED_MEMORY_RELOAD (default 10m);
// TIDE_FEED_MEMORY=off disables it. The price band weighs each product a
// viewer clicked, carted or bought at the catalogue's price (PostgreSQL's
// when TIDE_POSTGRES_URL is set, else the embedded demo catalogue's), re-read
// before every load. A failed load leaves the feed on its
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
	prices := &catalogPrices{log: log}
	prices.refresh(ctx)
	o := memory.Options{Database: serveEnv("TIDE_CLICKHOUSE_DATABASE", "tide"), Log: log, Prices: prices.price}
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
			prices.refresh(ctx)
			if err := m.Reload(ctx, conn, o); err != nil && ctx.Err() == nil {
				log.Warn("feed: long-term memory not reloaded; keeping the last", "err", err)
			}
		}
	}()
	return []feed.Option{feed.WithMemory(m)}
}

// catalogPrices is the catalogue's card price per product for the memory's
// price band, re-read before each load; a failed read keeps the last one
// (or none: the band then uses paid order values alone).
type catalogPrices struct {
	log *slog.Logger
	cur atomic.Pointer[map[string]int64]
}

// refresh re-reads the prices.
func (c *catalogPrices) refresh(ctx context.Context) {
	p, err := readCatalogPrices(ctx, c.log)
	if err != nil {
		c.log.Warn("feed: catalogue prices not read for the price band; keeping the last", "err", err)
		return
	}
	c.cur.Store(&p)
}

// price is memory.Options.Prices.
func (c *catalogPrices) price(product string) (int64, bool) {
	p := c.cur.Load()
	if p == nil {
		return 0, false
	}
	fen, ok := (*p)[product]
	return fen, ok
}

// readCatalogPrices reads PostgreSQL's catalogue when TIDE_POSTGRES_URL is
// set, else the embedded demo catalogue.
func readCatalogPrices(ctx context.Context, log *slog.Logger) (map[string]int64, error) {
	url := os.Getenv("TIDE_POSTGRES_URL")
	if url == "" {
		ps, err := search.ReadProducts(democatalog.Open())
		if err != nil {
			return nil, err
		}
		prices := make(map[string]int64, len(ps))
		for _, p := range ps {
			prices[p.ID] = p.PriceFen
		}
		return prices, nil
	}
	store, err := postgres.Open(ctx, url, postgres.WithLogger(log))
	if err != nil {
		return nil, err
	}
	defer store.Close()
	return store.ProductPrices(ctx)
}
