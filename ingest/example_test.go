package ingest_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/ingest"
)

// Run an ingester until interrupted: it applies the ClickHouse migrations,
// joins the consumer group and inserts batches of at most 100k rows, each at
// the latest 250 ms after its first record.
func ExampleNew() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ing, err := ingest.New(ctx,
		ingest.WithBrokers("127.0.0.1:19092"),
		ingest.WithTopic(ingest.DefaultEventsTopic),
		ingest.WithDeadLetterTopic(ingest.DefaultDeadLetterTopic),
		ingest.WithGroup("tide-ingest"),
		ingest.WithClickHouse("127.0.0.1:19000", "tide"),
		ingest.WithBatch(100_000, 250*time.Millisecond),
		ingest.WithRegisterer(prometheus.NewRegistry()),
		ingest.WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, nil))),
	)
	if err != nil {
		slog.Error("ingest", "err", err)
		return
	}
	defer ing.Close()
	if err := ing.Run(ctx); err != nil {
		slog.Error("ingest", "err", err)
	}
}
