package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/searchfeed"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/search"
	"github.com/tide-live/tide/search/follow"
)

// runRebuild is `tide rebuild KIND`.
func runRebuild(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "search" {
		return fmt.Errorf("usage: tide rebuild search [flags]")
	}
	return rebuildSearch(ctx, log, args[1:])
}

// rebuildSearch is `tide rebuild search`: build the product search index
// from the catalog in PostgreSQL into a fresh generation directory under
// -index, report what it holds and how long it took, optionally run a
// query. With -follow it then stays up like a serving replica's index: it
// applies product-changed events from Kafka as they come and, every
// -every, rebuilds from the catalog into a new directory and swaps it in
// (searches never wait). Serving replicas do the same in process with
// search/follow; this command checks and times that path.
func rebuildSearch(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tide rebuild search", flag.ContinueOnError)
	pgURL := fs.String("postgres", catalogEnv("TIDE_POSTGRES_URL", "postgres://tide@127.0.0.1:15432/tide?sslmode=disable"), "PostgreSQL URL of the catalog")
	dir := fs.String("index", "", "directory for the index generations (default: a temporary directory)")
	query := fs.String("query", "", "run this search on the built index and print the top hits")
	follows := fs.Bool("follow", false, "keep the index fresh from product-changed events until interrupted")
	brokers := fs.String("brokers", catalogEnv("TIDE_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka seed brokers, comma-separated (-follow)")
	topic := fs.String("topic", ingest.DefaultEventsTopic, "events topic (-follow)")
	every := fs.Duration("every", 0, "with -follow, rebuild from the catalog and swap this often (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := postgres.Open(ctx, *pgURL, postgres.WithLogger(log))
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	feed := searchfeed.New(store)

	start := time.Now()
	all, err := feed.All(ctx)
	if err != nil {
		return err
	}
	read := time.Since(start)
	opts := []search.Option{search.WithLogger(log), search.WithProgress(progressLogger(log, len(all)))}
	if *dir != "" {
		// A directory of this run's own: search.New clears stale generations
		// of the directory it is given, which may be a live replica's.
		d := strings.TrimRight(*dir, "/") + fmt.Sprintf("/rebuild-%d", time.Now().UnixNano())
		opts = append(opts, search.WithDir(d))
		defer os.RemoveAll(d)
	}
	ix, err := search.New(ctx, all, opts...)
	if err != nil {
		return err
	}
	defer ix.Close()
	fmt.Printf("search index built: %d on-shelf products (catalog read %s, total %s)\n",
		ix.Len(), read.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if *query != "" {
		if err := printSearch(ctx, ix, *query); err != nil {
			return err
		}
	}
	if !*follows {
		return nil
	}

	f, err := follow.New(strings.Split(*brokers, ","), feed, ix, follow.WithTopic(*topic), follow.StartAt(start),
		follow.WithLogger(log), follow.OnApply(func(a follow.Applied) {
			log.Info("search index updated", "upserted", a.Upserted, "deleted", a.Deleted, "lag", a.Lag.Round(time.Millisecond))
		}))
	if err != nil {
		return err
	}
	defer f.Close()
	if *every > 0 {
		go func() {
			t := time.NewTicker(*every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				began := time.Now()
				n, err := f.Rebuild(ctx, feed, ix)
				if err != nil {
					log.Error("search rebuild failed; the current index keeps serving", "err", err)
					continue
				}
				log.Info("search index rebuilt and swapped", "products", n, "took", time.Since(began).Round(time.Millisecond))
			}
		}()
	}
	log.Info("following product changes", "topic", *topic, "brokers", *brokers)
	return f.Run(ctx)
}

func progressLogger(log *slog.Logger, total int) func(done, total int) {
	last := time.Now()
	return func(done, _ int) {
		if time.Since(last) >= 2*time.Second || done == total {
			last = time.Now()
			log.Info("indexing", "done", done, "total", total)
		}
	}
}

func printSearch(ctx context.Context, ix *search.Index, text string) error {
	res, err := ix.Search(ctx, search.Request{Text: text, Limit: 10})
	if err != nil {
		return err
	}
	fmt.Printf("%q: %d matches in %s\n", text, res.Total, res.Took.Round(time.Microsecond))
	for i, h := range res.Hits {
		fmt.Printf("%2d. %-10s ¥%d.%02d  %s\n", i+1, h.Product.ID, h.Product.PriceFen/100, h.Product.PriceFen%100, h.Product.Title)
	}
	return nil
}
