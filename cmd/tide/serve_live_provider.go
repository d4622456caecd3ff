package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/aliyun"
	"github.com/tide-live/tide/live/stream/nginx"
	"github.com/tide-live/tide/live/stream/refused"
	"github.com/tide-live/tide/live/stream/tencent"
)

// Provider names TIDE_LIVE_PROVIDER accepts besides the providers' own:
// "none" turns streaming off; unset means nginx when the local nginx answers
// its /healthz, else none (so `tide demo` next to `scripts/services.sh up
// nginx` streams without configuration).
const (
	liveProviderNone = "none"

	// The local nginx of scripts/services.sh, and its development keys.
	defaultNginxRTMP    = "rtmp://127.0.0.1:19350/live"
	defaultNginxHTTP    = "http://127.0.0.1:18088"
	defaultNginxPushKey = "tide-dev-nginx-push-key"
	defaultNginxPlayKey = "tide-dev-nginx-play-key" // services.sh's TIDE_NGINX_PLAY_KEY default
)

// liveProviderFromEnv builds the provider TIDE_LIVE_PROVIDER names from its
// TIDE_NGINX_* / TIDE_TENCENT_* / TIDE_ALIYUN_* variables (README,
// "Operating"). Refused callbacks are counted on reg. It returns nil for no
// provider.
func liveProviderFromEnv(ctx context.Context, log *slog.Logger, reg prometheus.Registerer) (stream.Provider, error) {
	counter, err := refused.New(reg)
	if err != nil {
		return nil, err
	}
	name := os.Getenv(envLiveProvider)
	switch name {
	case liveProviderNone:
		return nil, nil
	case "":
		base := serveEnv("TIDE_NGINX_HTTP", defaultNginxHTTP)
		if !nginxUp(ctx, base) {
			log.Info("live: no stream provider (TIDE_LIVE_PROVIDER unset and no nginx at " + base + ")")
			return nil, nil
		}
		log.Info("live: nginx answers, using it as the stream provider", "http", base)
		return nginxFromEnv(log, counter)
	case nginx.Name:
		return nginxFromEnv(log, counter)
	case tencent.Name:
		return tencentFromEnv(log, counter)
	case aliyun.Name:
		return aliyunFromEnv(log, counter)
	}
	return nil, fmt.Errorf("%s=%q: want nginx, tencent, aliyun or none", envLiveProvider, name)
}

// nginxUp reports whether the nginx of scripts/services.sh answers /healthz.
func nginxUp(ctx context.Context, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func nginxFromEnv(log *slog.Logger, counter *refused.Counter) (stream.Provider, error) {
	p, err := nginx.New(nginx.Config{
		RTMPBase: serveEnv("TIDE_NGINX_RTMP", defaultNginxRTMP),
		HTTPBase: serveEnv("TIDE_NGINX_HTTP", defaultNginxHTTP),
		PushKey:  serveEnv("TIDE_NGINX_PUSH_KEY", defaultNginxPushKey),
		PlayKey:  serveEnv("TIDE_NGINX_PLAY_KEY", defaultNginxPlayKey),
	}, nginx.WithLogger(log), nginx.WithRefusedCounter(counter))
	if err != nil {
		return nil, fmt.Errorf("%s=nginx: %w", envLiveProvider, err)
	}
	return p, nil
}

func tencentFromEnv(log *slog.Logger, counter *refused.Counter) (stream.Provider, error) {
	e := envReader{prefix: "TIDE_TENCENT_"}
	cfg := tencent.Config{
		PushDomain: e.need("PUSH_DOMAIN"), PlayDomain: e.need("PLAY_DOMAIN"), AppName: e.get("APP"),
		PushKey: e.need("PUSH_KEY"), PlayKey: e.need("PLAY_KEY"), CallbackKey: e.need("CALLBACK_KEY"),
		SecretID: e.need("SECRET_ID"), SecretKey: e.need("SECRET_KEY"), Region: e.get("REGION"),
	}
	opts := []tencent.Option{tencent.WithLogger(log), tencent.WithRefusedCounter(counter)}
	if ep := e.get("API_ENDPOINT"); ep != "" {
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			e.errs = append(e.errs, fmt.Errorf("TIDE_TENCENT_API_ENDPOINT=%q: want http(s)://host[:port]", ep))
		} else {
			opts = append(opts, tencent.WithAPIEndpoint(strings.ToUpper(u.Scheme), u.Host))
		}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	p, err := tencent.New(cfg, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s=tencent: %w", envLiveProvider, err)
	}
	return p, nil
}

func aliyunFromEnv(log *slog.Logger, counter *refused.Counter) (stream.Provider, error) {
	e := envReader{prefix: "TIDE_ALIYUN_"}
	cfg := aliyun.Config{
		PushDomain: e.need("PUSH_DOMAIN"), PlayDomain: e.need("PLAY_DOMAIN"), AppName: e.get("APP"),
		PushKey: e.need("PUSH_KEY"), PlayKey: e.need("PLAY_KEY"), CallbackKey: e.need("CALLBACK_KEY"),
		CallbackDomain: e.get("CALLBACK_DOMAIN"),
		AccessKeyID:    e.need("ACCESS_KEY_ID"), AccessKeySecret: e.need("ACCESS_KEY_SECRET"),
		RegionID: e.get("REGION"),
	}
	opts := []aliyun.Option{aliyun.WithLogger(log), aliyun.WithRefusedCounter(counter)}
	if ep := e.get("API_ENDPOINT"); ep != "" {
		if u, err := url.Parse(ep); err != nil || u.Host == "" {
			e.errs = append(e.errs, fmt.Errorf("TIDE_ALIYUN_API_ENDPOINT=%q: want a URL such as https://live.aliyuncs.com/", ep))
		} else {
			opts = append(opts, aliyun.WithAPIEndpoint(ep, &http.Client{Timeout: 10 * time.Second}))
		}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	p, err := aliyun.New(cfg, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s=aliyun: %w", envLiveProvider, err)
	}
	return p, nil
}

// envReader reads a provider's variables, collecting every missing required
// one so a misconfigured server names them all at once.
type envReader struct {
	prefix string
	errs   []error
}

func (e *envReader) get(name string) string { return os.Getenv(e.prefix + name) }

func (e *envReader) need(name string) string {
	v := e.get(name)
	if v == "" {
		e.errs = append(e.errs, fmt.Errorf("%s%s is required", e.prefix, name))
	}
	return v
}

func (e *envReader) err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", envLiveProvider, errors.Join(e.errs...))
}
