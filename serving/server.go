// Package serving is tide's RPC front door: one HTTP server that mounts the
// Connect services (Connect, gRPC and gRPC-Web protocols; JSON or binary
// protobuf; HTTP/1.1 or cleartext HTTP/2), with Prometheus metrics on its own
// registry, health and readiness probes, continuous profiling and graceful
// shutdown. EventService (Track) lives here; other services mount next to it.
package serving

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultReadMaxBytes bounds the size of one decoded request message.
const DefaultReadMaxBytes = 1 << 20

// Server is the HTTP server of the tide RPCs. Build it with New, Mount the
// services, then Serve or ListenAndServe.
type Server struct {
	log          *slog.Logger
	reg          *prometheus.Registry
	mux          *http.ServeMux
	metrics      *rpcMetrics
	readMaxBytes int64
	shutdown     time.Duration
	pyroscope    string
	timeouts     Timeouts
	metricsAddr  string

	mu           sync.Mutex
	checks       []readyCheck
	interceptors []connect.Interceptor
}

type readyCheck struct {
	name string
	fn   func(context.Context) error
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithReadMaxBytes bounds the size of one request message (default
// DefaultReadMaxBytes); larger requests get resource_exhausted.
func WithReadMaxBytes(n int64) Option { return func(s *Server) { s.readMaxBytes = n } }

// WithShutdownTimeout bounds how long a graceful shutdown waits for requests
// in flight (default 15s).
func WithShutdownTimeout(d time.Duration) Option { return func(s *Server) { s.shutdown = d } }

// WithPyroscope sends continuous profiles to the Pyroscope server at addr
// while the server runs; empty addr disables profiling.
func WithPyroscope(addr string) Option { return func(s *Server) { s.pyroscope = addr } }

// Timeouts bound the phases of an HTTP connection (http.Server's fields of
// the same names). Zero means no limit. No tide RPC streams, so WriteTimeout
// bounds every response; raise it before mounting a long-lived stream.
type Timeouts struct {
	ReadHeader time.Duration // until the request headers are read
	Read       time.Duration // until the whole request is read
	Write      time.Duration // from the end of the headers until the response is written
	Idle       time.Duration // a keep-alive connection between requests
}

// DefaultTimeouts are generous for a request of at most DefaultReadMaxBytes
// from a phone and a Track call that waits up to 10s for Kafka, and short
// enough that slow clients cannot hold connections open.
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 60 * time.Second, Idle: 2 * time.Minute}
}

// WithTimeouts sets the HTTP timeouts (default DefaultTimeouts()).
func WithTimeouts(t Timeouts) Option { return func(s *Server) { s.timeouts = t } }

// WithMetricsAddr serves /metrics on its own listener at addr (e.g.
// 127.0.0.1:9090, reachable by Prometheus but not by clients) instead of the
// main one; empty (the default) keeps /metrics on the main listener.
func WithMetricsAddr(addr string) Option { return func(s *Server) { s.metricsAddr = addr } }

// WithReadyCheck adds a readiness check to /readyz.
func WithReadyCheck(name string, fn func(context.Context) error) Option {
	return func(s *Server) { s.checks = append(s.checks, readyCheck{name, fn}) }
}

// New builds a server with /healthz, /readyz and (unless WithMetricsAddr)
// /metrics mounted.
func New(opts ...Option) *Server {
	s := &Server{
		log:          slog.Default(),
		reg:          prometheus.NewRegistry(),
		mux:          http.NewServeMux(),
		readMaxBytes: DefaultReadMaxBytes,
		shutdown:     15 * time.Second,
		timeouts:     DefaultTimeouts(),
	}
	for _, o := range opts {
		o(s)
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newRPCMetrics(s.reg)
	if s.metricsAddr == "" {
		s.mux.Handle("GET /metrics", s.MetricsHandler())
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	return s
}

// Registry is the server's own Prometheus registry (never the global one);
// services register their metrics here.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// MetricsHandler serves the server's registry in the Prometheus format.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})
}

// Logger is the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// ConnectOptions are the handler options every Connect service mounted on
// this server should use: the request size limit and the metrics and
// logging interceptor.
func (s *Server) ConnectOptions() []connect.HandlerOption {
	s.mu.Lock()
	chain := append([]connect.Interceptor{&rpcInterceptor{m: s.metrics, log: s.log}}, s.interceptors...)
	s.mu.Unlock()
	return []connect.HandlerOption{
		connect.WithReadMaxBytes(int(s.readMaxBytes)),
		connect.WithInterceptors(chain...),
	}
}

// Use adds interceptors (authentication, rate limits) that every service
// mounted afterwards runs, inside the metrics interceptor so that refused
// calls are counted. Call it before Mount.
func (s *Server) Use(interceptors ...connect.Interceptor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interceptors = append(s.interceptors, interceptors...)
}

// Mount serves h under path, as returned by a generated
// tidev1connect.NewXServiceHandler(svc, s.ConnectOptions()...).
func (s *Server) Mount(path string, h http.Handler) { s.mux.Handle(path, h) }

// AddReadyCheck adds a readiness check to /readyz, e.g. that Kafka answers.
func (s *Server) AddReadyCheck(name string, fn func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, readyCheck{name, fn})
}

// ready answers 200 when every check passes within two seconds, else 503,
// with a JSON object of check → "ok" or the error.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	checks := append([]readyCheck(nil), s.checks...)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	res := make(map[string]string, len(checks))
	status := http.StatusOK
	for _, c := range checks {
		if err := c.fn(ctx); err != nil {
			res[c.name] = err.Error()
			status = http.StatusServiceUnavailable
			continue
		}
		res[c.name] = "ok"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(res)
}

// Handler is the server's whole HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.mux }

// ListenAndServe listens on addr and serves until ctx is done; see Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves HTTP/1.1 and cleartext HTTP/2 (h2c, for gRPC) on ln until
// ctx is done, then shuts down gracefully: it stops accepting, lets the
// requests in flight finish (bounded by the shutdown timeout) and returns
// nil. It returns an error only if serving fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.pyroscope != "" {
		stop, err := startProfiling(s.pyroscope, s.log)
		if err != nil {
			s.log.Warn("continuous profiling disabled", "addr", s.pyroscope, "err", err)
		} else {
			defer stop()
		}
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := s.httpServer(ctx, s.mux)
	srv.Protocols = &protocols
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String())
	if s.metricsAddr != "" {
		stop, err := s.serveMetrics(ctx)
		if err != nil {
			srv.Close()
			return err
		}
		defer stop()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.shutdown.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// httpServer is an http.Server of h with the server's timeouts.
func (s *Server) httpServer(ctx context.Context, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.timeouts.ReadHeader,
		ReadTimeout:       s.timeouts.Read,
		WriteTimeout:      s.timeouts.Write,
		IdleTimeout:       s.timeouts.Idle,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// serveMetrics serves /metrics on the metrics address until stop is called.
func (s *Server) serveMetrics(ctx context.Context) (stop func(), err error) {
	ln, err := net.Listen("tcp", s.metricsAddr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener %s: %w", s.metricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.MetricsHandler())
	srv := s.httpServer(ctx, mux)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	s.log.Info("serving metrics", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}
