package main

import (
	"fmt"
	"os"
	"time"

	"github.com/tide-live/tide/serving"
)

// Environment of `tide serve`'s HTTP listeners.
//
//	TIDE_METRICS_ADDR              listener of /metrics alone (default 127.0.0.1:9090,
//	                               reachable by a Prometheus on the host, not by clients);
//	                               "main" serves /metrics on the main listener instead
//	TIDE_HTTP_READ_HEADER_TIMEOUT  Go durations bounding a connection's phases
//	TIDE_HTTP_READ_TIMEOUT         (defaults serving.DefaultTimeouts: 5s, 30s, 60s, 2m;
//	TIDE_HTTP_WRITE_TIMEOUT        "0" is no limit). No RPC streams, so the write
//	TIDE_HTTP_IDLE_TIMEOUT         timeout bounds every response.
const (
	envMetricsAddr       = "TIDE_METRICS_ADDR"
	defaultMetricsAddr   = "127.0.0.1:9090"
	envReadHeaderTimeout = "TIDE_HTTP_READ_HEADER_TIMEOUT"
	envReadTimeout       = "TIDE_HTTP_READ_TIMEOUT"
	envWriteTimeout      = "TIDE_HTTP_WRITE_TIMEOUT"
	envIdleTimeout       = "TIDE_HTTP_IDLE_TIMEOUT"
)

// serveHTTPOptions are the server options of cfg's metrics address and the
// timeouts from the environment.
func serveHTTPOptions(cfg serveConfig) ([]serving.Option, error) {
	t := serving.DefaultTimeouts()
	for _, f := range []struct {
		env string
		d   *time.Duration
	}{{envReadHeaderTimeout, &t.ReadHeader}, {envReadTimeout, &t.Read}, {envWriteTimeout, &t.Write}, {envIdleTimeout, &t.Idle}} {
		v := os.Getenv(f.env)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s: %q is not a duration such as 30s", f.env, v)
		}
		*f.d = d
	}
	opts := []serving.Option{serving.WithTimeouts(t)}
	if cfg.metrics != "" && cfg.metrics != "main" {
		opts = append(opts, serving.WithMetricsAddr(cfg.metrics))
	}
	return opts, nil
}
