package serving_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/tide-live/tide/serving"
)

// Wiring the server as `tide serve` does: one Kafka producer, the Track
// service on the server's own metrics registry, Kafka as the readiness check,
// and a graceful shutdown on Ctrl-C. Other Connect services mount the same
// way: srv.Mount(tidev1connect.NewXServiceHandler(svc, srv.ConnectOptions()...)).
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	producer, err := serving.NewProducer([]string{"127.0.0.1:19092"})
	if err != nil {
		log.Error("kafka", "err", err)
		return
	}
	defer producer.Close()
	srv := serving.New(serving.WithLogger(log), serving.WithReadyCheck("kafka", producer.Ping),
		serving.WithPyroscope(os.Getenv("TIDE_PYROSCOPE_ADDR")))
	serving.NewEventService(producer, srv.Registry(), serving.WithTrackLogger(log)).Mount(srv)
	if err := srv.ListenAndServe(ctx, "127.0.0.1:8080"); err != nil {
		log.Error("serve", "err", err)
	}
}
