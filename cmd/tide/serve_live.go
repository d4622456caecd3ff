package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	commercepg "github.com/tide-live/tide/commerce/postgres"
	livepg "github.com/tide-live/tide/live/postgres"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/feed"
	servinglive "github.com/tide-live/tide/serving/live"
	"github.com/tide-live/tide/serving/roomfeed"
)

// Environment of `tide serve`'s live rooms.
//
//	TIDE_POSTGRES_URL    the room registry (and the catalog shelves are checked
//	                     against); unset: no LiveService, the feed has no room cards
//	TIDE_LIVE_PROVIDER   the streaming cloud sessions are pushed to: nginx, tencent,
//	                     aliyun, or none (PushURL answers failed_precondition, cards
//	                     carry no pull URLs); unset: nginx when the local one is up
//	                     (serve_live_provider.go has each provider's variables)
//	TIDE_LIVE_GRACE      how long a paused session waits for its push (default 60s)
const (
	envLiveProvider = "TIDE_LIVE_PROVIDER"
	envLiveGrace    = "TIDE_LIVE_GRACE"
)

// liveCallbackPrefix is where providers' callbacks are mounted:
// /live/callback/<provider name>.
const liveCallbackPrefix = "/live/callback/"

// setupLive opens the room registry when TIDE_POSTGRES_URL is set, mounts
// LiveService and the provider's callbacks, runs the registry's expiry job
// (grace periods, overdue 预告; its events reach Kafka through
// serve_outbox.go's relay), and returns the feed catalog it keeps loaded
// from the registry (nil without PostgreSQL). Everything stops when ctx ends.
func setupLive(ctx context.Context, log *slog.Logger, srv *serving.Server, cfg serveConfig) (*feed.Catalog, error) {
	url := os.Getenv("TIDE_POSTGRES_URL")
	if url == "" {
		log.Warn("live rooms are off: set TIDE_POSTGRES_URL for LiveService and room cards")
		return nil, nil
	}
	prov := cfg.liveProvider
	if prov == nil {
		var err error
		if prov, err = liveProviderFromEnv(ctx, log, srv.Registry()); err != nil {
			return nil, err
		}
	}
	grace, err := time.ParseDuration(serveEnv(envLiveGrace, "60s"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envLiveGrace, err)
	}
	opts := []livepg.Option{livepg.WithGrace(grace), livepg.WithLogger(log)}
	if prov != nil {
		opts = append(opts, livepg.WithProvider(prov))
	}
	reg, err := livepg.Open(ctx, url, opts...)
	if err != nil {
		return nil, err
	}
	if err := reg.Migrate(ctx); err != nil {
		reg.Close()
		return nil, err
	}
	catalog := commercepg.New(reg.Pool(), commercepg.WithLogger(log)) // the same database: shelves are checked against it
	context.AfterFunc(ctx, func() { reg.Close() })

	srv.Mount(servinglive.NewHandler(reg, catalog, servinglive.WithLogger(log)).Mount(srv.ConnectOptions()...))
	if prov != nil {
		srv.Mount(liveCallbackPrefix+prov.Name(), prov.Callbacks(reg))
	}
	go reg.RunExpiry(ctx, time.Second)
	cat := feed.NewCatalog()
	sync := roomfeed.New(reg, catalog, cat, roomfeed.WithLogger(log), roomfeed.WithOnAir(cfg.searchLive.onAir))
	if err := sync.Load(ctx); err != nil {
		return nil, err
	}
	go sync.Run(ctx)
	provName := "none"
	if prov != nil {
		provName = prov.Name()
	}
	log.Info("live: serving LiveService", "provider", provName, "callbacks", liveCallbackPrefix+provName, "grace", grace.String())
	return cat, nil
}
