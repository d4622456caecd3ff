package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/tide-live/tide/commerce/democatalog"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/searchfeed"
	"github.com/tide-live/tide/search"
	"github.com/tide-live/tide/search/follow"
	"github.com/tide-live/tide/serving"
	servingsearch "github.com/tide-live/tide/serving/search"
)

// Environment of `tide serve`'s product search.
//
//	TIDE_POSTGRES_URL   index the on-shelf catalog in this PostgreSQL (the
//	                    commerce schema, `tide migrate`); unset: the embedded
//	                    demo catalog
//	TIDE_SEARCH_DIR     directory for the index (default: a temporary one)
const envSearchDir = "TIDE_SEARCH_DIR"

// setupSearch mounts SearchService on srv and builds its index in the
// background from the catalog: PostgreSQL's when TIDE_POSTGRES_URL is set,
// else the embedded demo catalog. Until the index is searchable the service
// answers unavailable and /readyz reports search not ready. A catalog that
// cannot be opened fails the start; the index is closed when ctx ends.
//
// With PostgreSQL, serve also keeps the index fresh: the outbox relay
// publishes product changes to the events topic, and a follower (its own
// consumer, from the moment the snapshot was taken) applies them to this
// replica's index, so a change is searchable within about a second.
func setupSearch(ctx context.Context, log *slog.Logger, srv *serving.Server, cfg serveConfig) (*servingsearch.Handler, error) {
	cat, err := openSearchCatalog(ctx, log)
	if err != nil {
		return nil, err
	}
	h := servingsearch.NewHandler(nil, servingsearch.WithLogger(log))
	var (
		mu       sync.Mutex
		buildErr error
	)
	srv.AddReadyCheck("search", func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if buildErr != nil {
			return buildErr
		}
		return h.Ready(ctx)
	})
	srv.Mount(h.Mount(srv.ConnectOptions()...))
	go func() {
		defer cat.close()
		start := time.Now() // changes after the snapshot are replayed by the follower
		ix, err := buildSearchIndex(ctx, log, cat.load, cat.source)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("search index not built: SearchService stays unavailable", "catalog", cat.source, "err", err)
				mu.Lock()
				buildErr = err
				mu.Unlock()
			}
			return
		}
		h.Swap(ix)
		cfg.searchLive.attach(ctx, ix) // rooms on air put their shelves in the live filter
		if cat.store != nil {
			go followCatalog(ctx, log, cat.store, ix, cfg, start)
		}
		<-ctx.Done()
		h.Swap(nil)
		cfg.searchLive.attach(ctx, nil)
		if err := ix.Close(); err != nil {
			log.Warn("close search index", "err", err)
		}
	}()
	return h, nil
}

// searchCatalog is the catalog the index is built from.
type searchCatalog struct {
	source string
	load   func(context.Context) ([]search.Product, error)
	store  *postgres.Store // nil for the embedded demo catalog
	close  func()
}

// openSearchCatalog opens PostgreSQL's catalog, migrated, when
// TIDE_POSTGRES_URL is set, else the embedded demo catalog.
func openSearchCatalog(ctx context.Context, log *slog.Logger) (searchCatalog, error) {
	url := os.Getenv("TIDE_POSTGRES_URL")
	if url == "" {
		return searchCatalog{source: "embedded demo catalog", close: func() {},
			load: func(context.Context) ([]search.Product, error) { return search.ReadProducts(democatalog.Open()) }}, nil
	}
	store, err := postgres.Open(ctx, url, postgres.WithLogger(log))
	if err != nil {
		return searchCatalog{}, fmt.Errorf("search catalog: %w", err)
	}
	// The index is built from the catalog at once: on a fresh database its
	// tables must exist first (checkout applies the same migrations later).
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return searchCatalog{}, fmt.Errorf("search catalog: %w", err)
	}
	return searchCatalog{source: "PostgreSQL catalog", store: store, close: store.Close,
		load: func(ctx context.Context) ([]search.Product, error) {
			ps, err := searchfeed.New(store).All(ctx)
			if err != nil {
				return nil, fmt.Errorf("%w (is the schema migrated? run tide migrate)", err)
			}
			return ps, nil
		}}, nil
}

// followCatalog runs the index follower until ctx ends. The catalog's
// product changes reach the topic through the one outbox relay of the
// server (serve_outbox.go).
func followCatalog(ctx context.Context, log *slog.Logger, store *postgres.Store, ix *search.Index, cfg serveConfig, start time.Time) {
	f, err := follow.New(cfg.brokers, searchfeed.New(store), ix, follow.WithTopic(cfg.topic),
		follow.StartAt(start), follow.WithLogger(log))
	if err != nil {
		log.Error("search index does not follow catalog changes", "err", err)
		return
	}
	defer f.Close()
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		log.Error("search follower stopped", "err", err)
	}
}

func buildSearchIndex(ctx context.Context, log *slog.Logger, load func(context.Context) ([]search.Product, error), source string) (*search.Index, error) {
	start := time.Now()
	catalog, err := load(ctx)
	if err != nil {
		return nil, err
	}
	if len(catalog) == 0 {
		log.Warn("search catalog is empty: every search finds nothing", "catalog", source)
	}
	log.Info("building search index", "catalog", source, "products", len(catalog))
	last := time.Now()
	opts := []search.Option{search.WithLogger(log), search.WithProgress(func(done, total int) {
		if done > 0 && done < total && time.Since(last) >= 2*time.Second {
			last = time.Now()
			log.Info("indexing products", "done", done, "total", total)
		}
	})}
	if dir := os.Getenv(envSearchDir); dir != "" {
		opts = append(opts, search.WithDir(dir))
	}
	ix, err := search.New(ctx, catalog, opts...)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, fmt.Errorf("search index: %w", err)
	}
	log.Info("search ready", "catalog", source, "products", ix.Len(), "took", time.Since(start).Round(time.Millisecond))
	return ix, nil
}
