package serving

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"github.com/grafana/pyroscope-go"
	"github.com/prometheus/client_golang/prometheus"
)

// rpcMetrics are the per-procedure request counters and latencies.
type rpcMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newRPCMetrics(reg prometheus.Registerer) *rpcMetrics {
	m := &rpcMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tide_rpc_requests_total",
			Help: "RPCs handled, by procedure and Connect code (ok on success).",
		}, []string{"procedure", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tide_rpc_duration_seconds",
			Help:    "Time to answer an RPC, by procedure.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"procedure"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// rpcInterceptor records metrics for every RPC and logs failures: server-side
// failures at warn, client mistakes at debug.
type rpcInterceptor struct {
	m   *rpcMetrics
	log *slog.Logger
}

func (i *rpcInterceptor) observe(ctx context.Context, procedure string, start time.Time, err error) {
	i.m.duration.WithLabelValues(procedure).Observe(time.Since(start).Seconds())
	code := "ok"
	if err != nil {
		c := connect.CodeOf(err)
		code = c.String()
		switch c {
		case connect.CodeInvalidArgument, connect.CodeNotFound, connect.CodeAlreadyExists,
			connect.CodePermissionDenied, connect.CodeUnauthenticated, connect.CodeResourceExhausted,
			connect.CodeFailedPrecondition, connect.CodeCanceled:
			i.log.DebugContext(ctx, "rpc rejected", "procedure", procedure, "code", code, "err", err)
		default:
			i.log.WarnContext(ctx, "rpc failed", "procedure", procedure, "code", code, "err", err)
		}
	}
	i.m.requests.WithLabelValues(procedure, code).Inc()
}

// WrapUnary implements connect.Interceptor.
func (i *rpcInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		res, err := next(ctx, req)
		i.observe(ctx, req.Spec().Procedure, start, err)
		return res, err
	}
}

// WrapStreamingClient implements connect.Interceptor (nothing to do on the server).
func (i *rpcInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (i *rpcInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		err := next(ctx, conn)
		i.observe(ctx, conn.Spec().Procedure, start, err)
		return err
	}
}

// startProfiling sends CPU, allocation, goroutine, mutex and block profiles to
// the Pyroscope server at addr.
func startProfiling(addr string, log *slog.Logger) (stop func(), err error) {
	p, err := pyroscope.Start(pyroscope.Config{
		ApplicationName: "tide.serve",
		ServerAddress:   addr,
		ProfileTypes: []pyroscope.ProfileType{
			pyroscope.ProfileCPU, pyroscope.ProfileAllocObjects, pyroscope.ProfileAllocSpace,
			pyroscope.ProfileInuseObjects, pyroscope.ProfileInuseSpace, pyroscope.ProfileGoroutines,
			pyroscope.ProfileMutexCount, pyroscope.ProfileBlockCount,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("pyroscope: %w", err)
	}
	log.Info("continuous profiling", "pyroscope", addr)
	return func() {
		if err := p.Stop(); err != nil {
			log.Warn("stop profiling", "err", err)
		}
	}, nil
}
