package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/feed"
	"github.com/tide-live/tide/serving/gctarget"
)

// serveConfig is what `tide serve` and `tide demo` need to run the server.
type serveConfig struct {
	addr       string
	brokers    []string
	topic      string
	partitions int
	pyroscope  string
	adminKeys  []string // raw API keys accepted as admin (the demo's own traffic), or "<key> merchant <id>"
	rateExempt string   // default of TIDE_RATE_LIMIT_EXEMPT (the demo: loopback)
	metrics    string   // /metrics listener; empty or "main": on the main listener (serve_http.go)
	// liveProvider, when set, overrides TIDE_LIVE_PROVIDER (tests);
	// feedCatalog is the room registry's catalog, set by setupLive.
	liveProvider stream.Provider
	feedCatalog  *feed.Catalog
	searchLive   *searchLive // on-air shelves from the registry to search's live filter (serve_search_live.go)
	reportAddr   string      // ReportService's ClickHouse; empty: TIDE_CLICKHOUSE_ADDR
	reportDB     string      // its database; empty: TIDE_CLICKHOUSE_DATABASE or tide
}

// runServe is `tide serve`: the RPC server (Track, and the services mounted
// next to it) until interrupted.
func runServe(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tide serve", flag.ContinueOnError)
	addr := fs.String("addr", serveEnv("TIDE_HTTP_ADDR", "127.0.0.1:8080"), "listen address (env TIDE_HTTP_ADDR)")
	brokers := fs.String("brokers", serveEnv("TIDE_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka seed brokers, comma-separated (env TIDE_KAFKA_BROKERS)")
	topic := fs.String("topic", ingest.DefaultEventsTopic, "events topic Track produces to")
	partitions := fs.Int("partitions", ingest.DefaultPartitions, "partitions of the events topic when it must be created")
	metrics := fs.String("metrics-addr", serveEnv(envMetricsAddr, defaultMetricsAddr), "listener of /metrics alone; \"main\" serves it on -addr (env TIDE_METRICS_ADDR)")
	pyro := fs.String("pyroscope", os.Getenv("TIDE_PYROSCOPE_ADDR"), "Pyroscope server for continuous profiling, e.g. http://127.0.0.1:4040 (env TIDE_PYROSCOPE_ADDR; empty: off)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	gc, err := gctarget.ApplyEnv(os.Getenv)
	if err != nil {
		return err
	}
	log.Info("gc target", "gc_percent", gc.Percent, "memory_limit", gc.MemoryLimit)
	cfg := serveConfig{addr: *addr, brokers: strings.Split(*brokers, ","), topic: *topic,
		partitions: *partitions, pyroscope: *pyro, metrics: *metrics}
	srv, closeFn, err := newServer(ctx, log, cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	ln, err := serveListen(cfg.addr)
	if err != nil {
		return err
	}
	return srv.Serve(ctx, ln)
}

// newServer connects the Kafka producer, makes sure the events topic exists,
// and builds the server with every service mounted. close releases the
// producer after the server stopped.
func newServer(ctx context.Context, log *slog.Logger, cfg serveConfig) (srv *serving.Server, closeFn func(), err error) {
	producer, err := serving.NewProducer(cfg.brokers, kgo.WithLogger(serveKafkaLogger{log}))
	if err != nil {
		return nil, nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := ingest.EnsureTopics(tctx, producer, cfg.partitions, cfg.topic); err != nil {
		producer.Close()
		return nil, nil, fmt.Errorf("kafka at %v: %w", cfg.brokers, err)
	}
	httpOpts, err := serveHTTPOptions(cfg) // serve_http.go: timeouts, the /metrics listener
	if err != nil {
		producer.Close()
		return nil, nil, err
	}
	srv = serving.New(append(httpOpts, serving.WithLogger(log), serving.WithPyroscope(cfg.pyroscope),
		serving.WithReadyCheck("kafka", producer.Ping))...)
	facts, err := setupAuth(ctx, log, srv, cfg) // serve_auth.go: AuthService, auth and rate limits for every service
	if err != nil {
		producer.Close()
		return nil, nil, err
	}
	cfg.searchLive = &searchLive{log: log}
	if err := setupOutbox(ctx, log, cfg); err != nil { // serve_outbox.go: the one relay of the shared outbox to Kafka
		producer.Close()
		return nil, nil, err
	}
	if cfg.feedCatalog, err = setupLive(ctx, log, srv, cfg); err != nil { // serve_live.go: LiveService, callbacks, outbox relay, room cards
		producer.Close()
		return nil, nil, err
	}
	arms := mountFeed(ctx, log, srv, producer, cfg) // serve_feed.go; nil without TIDE_EXPERIMENTS
	track := []serving.TrackOption{serving.WithTopic(cfg.topic), serving.WithTrackLogger(log), serving.WithCallerFacts(facts)}
	if arms != nil {
		track = append(track, serving.WithEventStamp(arms.Stamp))
	}
	serving.NewEventService(producer, srv.Registry(), track...).Mount(srv)
	if _, err := setupSearch(ctx, log, srv, cfg); err != nil { // serve_search.go: SearchService, index built in the background
		producer.Close()
		return nil, nil, err
	}
	if err := setupReport(ctx, log, srv, cfg); err != nil { // serve_report.go: ReportService and the dashboard
		producer.Close()
		return nil, nil, err
	}
	if err := setupCommerce(ctx, log, srv, cfg, facts); err != nil { // serve_commerce.go: CommerceService, WeChat Pay notifies, order timers
		producer.Close()
		return nil, nil, err
	}
	log.Info("tide serve", "addr", cfg.addr, "brokers", cfg.brokers, "topic", cfg.topic)
	return srv, producer.Close, nil
}

// serveKafkaLogger sends franz-go's warnings and errors to slog.
type serveKafkaLogger struct{ log *slog.Logger }

func (l serveKafkaLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l serveKafkaLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	l.log.Log(context.Background(), lv, "kafka: "+msg, keyvals...)
}

// serveEnv returns the environment variable key, or def when it is unset.
func serveEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// serveListen is net.Listen with the address in the error.
func serveListen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}
