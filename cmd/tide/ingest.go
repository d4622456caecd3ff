package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tide-live/tide/ingest"
)

// runIngest is `tide ingest`: consume the events topic into ClickHouse until
// interrupted.
func runIngest(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tide ingest", flag.ContinueOnError)
	brokers := fs.String("brokers", ingestEnv("TIDE_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka seed brokers, comma-separated")
	topic := fs.String("topic", ingest.DefaultEventsTopic, "events topic")
	dlq := fs.String("dlq", ingest.DefaultDeadLetterTopic, "dead-letter topic")
	group := fs.String("group", ingest.DefaultGroup, "consumer group")
	instance := fs.String("instance-id", os.Getenv("TIDE_INGEST_INSTANCE_ID"), "static group member id (a restart takes its partitions back at once)")
	partitions := fs.Int("partitions", ingest.DefaultPartitions, "partitions of topics created when missing")
	chAddr := fs.String("clickhouse", ingestEnv("TIDE_CLICKHOUSE_ADDR", "127.0.0.1:19000"), "ClickHouse native address")
	db := fs.String("database", ingestEnv("TIDE_CLICKHOUSE_DATABASE", ingest.DefaultDatabase), "ClickHouse database")
	rows := fs.Int("batch-rows", ingest.DefaultBatchRows, "rows per insert at most")
	wait := fs.Duration("batch-wait", ingest.DefaultBatchWait, "insert a batch at the latest this long after its first record")
	backoffMax := fs.Duration("backoff-max", ingest.DefaultBackoffMax, "cap of the retry delay while ClickHouse fails")
	session := fs.Duration("session-timeout", ingest.DefaultSessionTimeout, "consumer group session timeout")
	metrics := fs.String("metrics", "", "serve Prometheus /metrics and /debug/pprof/ on this address (e.g. 127.0.0.1:9464)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ing, err := ingest.New(ctx,
		ingest.WithBrokers(strings.Split(*brokers, ",")...),
		ingest.WithTopic(*topic), ingest.WithDeadLetterTopic(*dlq), ingest.WithGroup(*group),
		ingest.WithInstanceID(*instance), ingest.WithPartitions(*partitions),
		ingest.WithClickHouse(*chAddr, *db), ingest.WithBatch(*rows, *wait),
		ingest.WithBackoff(ingest.DefaultBackoffMin, *backoffMax), ingest.WithSessionTimeout(*session),
		ingest.WithRegisterer(reg), ingest.WithLogger(log))
	if err != nil {
		return err
	}
	defer ing.Close()
	if *metrics != "" {
		ln, err := net.Listen("tcp", *metrics)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server", "err", err)
			}
		}()
		defer srv.Close()
		log.Info("serving metrics", "addr", ln.Addr().String())
	}
	log.Info("ingest starting", "brokers", *brokers, "topic", *topic, "group", *group,
		"clickhouse", *chAddr, "database", *db, "batch_rows", *rows, "batch_wait", wait.String())
	return ing.Run(ctx)
}

// ingestEnv returns the environment variable key, or def when it is unset.
func ingestEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
