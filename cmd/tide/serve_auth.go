package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/callerfacts"
	"github.com/tide-live/tide/serving/clientip"
	"github.com/tide-live/tide/serving/ratelimit"
)

// Environment of `tide serve`'s authentication and rate limits.
//
//	TIDE_SESSION_KEYS       session token keys, "kid:base64secret,…"; the first signs
//	                        (default: a random key per process, with a warning)
//	TIDE_WECHAT_APPID       the mini-program's app id (Login is off without it)
//	TIDE_WECHAT_SECRET      its AppSecret
//	TIDE_WECHAT_API_BASE    code2session server (default https://api.weixin.qq.com)
//	TIDE_API_KEYS           merchant/admin API keys: "postgres" (table auth_api_keys
//	                        in TIDE_POSTGRES_URL, migrated at start) or a key file
//	                        (auth.ParseKeyFile); empty: no API keys
//	TIDE_RATE_LIMIT         "off" disables rate limits
//	TIDE_RATE_LIMITS        per-procedure rules, see ratelimit.ParseRules, e.g.
//	                        "default=principal:20/s:60,ip:100/s:300;/tide.v1.FeedService/Rooms=principal:5/s:20"
//	TIDE_TRUSTED_PROXIES    CIDRs of load balancers whose X-Forwarded-For is believed
//	TIDE_RATE_LIMIT_EXEMPT  CIDRs exempt from per-IP limits, e.g. "127.0.0.0/8,::1/128"
//	                        for a load generator on the host (default none: behind a
//	                        same-host proxy every client would be exempt otherwise)
//
// Track's limits count events, not calls (ratelimit.WithCost): by default a
// user or merchant sends 20 events/s (bursts of 500, one full batch) and an IP
// address 200 events/s (bursts of 1000). Admins are not limited per caller,
// only per IP. A TIDE_RATE_LIMITS rule for /tide.v1.EventService/Track counts
// events too.
const (
	envSessionKeys   = "TIDE_SESSION_KEYS"
	envWeChatAppID   = "TIDE_WECHAT_APPID"
	envWeChatSecret  = "TIDE_WECHAT_SECRET"
	envWeChatBase    = "TIDE_WECHAT_API_BASE"
	envAPIKeys       = "TIDE_API_KEYS"
	envRateLimit     = "TIDE_RATE_LIMIT"
	envRateLimits    = "TIDE_RATE_LIMITS"
	envTrusted       = "TIDE_TRUSTED_PROXIES"
	envRateExempt    = "TIDE_RATE_LIMIT_EXEMPT"
	loginPerIPPerMin = 120
)

// setupAuth configures authentication and rate limits from the environment:
// it mounts AuthService on srv and makes every service mounted afterwards
// run the per-IP limit, authentication and the per-caller limit, in that
// order. cfg.adminKeys are extra raw API keys accepted as admin (for the
// demo's own traffic); cfg.rateExempt is the default of TIDE_RATE_LIMIT_EXEMPT.
// It returns the stamper of caller facts for Track (serve_facts.go), which
// finds client addresses as the per-IP limits do. Resources are released
// when ctx ends.
func setupAuth(ctx context.Context, log *slog.Logger, srv *serving.Server, cfg serveConfig) (*callerfacts.Stamper, error) {
	tokens, err := serveTokens(log)
	if err != nil {
		return nil, err
	}
	keys, err := serveKeyStore(ctx, log, cfg.adminKeys)
	if err != nil {
		return nil, err
	}
	trusted, err := clientip.ParsePrefixes(os.Getenv(envTrusted))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envTrusted, err)
	}
	facts, err := serveCallerFacts(log, trusted)
	if err != nil {
		return nil, err
	}
	var wechat auth.CodeExchanger
	appID := os.Getenv(envWeChatAppID)
	if appID != "" {
		wechat = auth.NewWeChat(appID, os.Getenv(envWeChatSecret), auth.WithWeChatBaseURL(serveEnv(envWeChatBase, auth.DefaultWeChatBaseURL)))
	} else {
		log.Warn("WeChat login is off: set " + envWeChatAppID + " and " + envWeChatSecret)
	}
	accounts, err := serveAccounts(ctx, log, appID != "")
	if err != nil {
		return nil, err
	}
	interceptors := []connect.Interceptor{auth.NewInterceptor(auth.NewAuthenticator(tokens, keys), auth.WithInterceptorLogger(log))}
	if os.Getenv(envRateLimit) != "off" {
		l, err := serveLimiter(srv, trusted, cfg.rateExempt)
		if err != nil {
			return nil, err
		}
		interceptors = []connect.Interceptor{l.ByIP(), interceptors[0], l.ByPrincipal()}
	}
	srv.Use(interceptors...)
	svcOpts := []auth.ServiceOption{auth.WithServiceLogger(log)}
	if accounts != nil {
		svcOpts = append(svcOpts, auth.WithAccounts(accounts))
	}
	svc := auth.NewService(wechat, appID, tokens, svcOpts...)
	srv.Mount(svc.Handler(srv.ConnectOptions()...))
	return facts, nil
}

// serveTokens reads the session token keys, or makes a random one.
func serveTokens(log *slog.Logger) (*auth.Tokens, error) {
	var keys []auth.SigningKey
	if s := os.Getenv(envSessionKeys); s != "" {
		var err error
		if keys, err = auth.ParseSigningKeys(s); err != nil {
			return nil, fmt.Errorf("%s: %w", envSessionKeys, err)
		}
	} else {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		keys = []auth.SigningKey{{ID: "ephemeral", Secret: secret}}
		log.Warn("session tokens are signed with a random key: they die with this process and other replicas reject them; set " + envSessionKeys)
	}
	tokens, err := auth.NewTokens(keys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envSessionKeys, err)
	}
	return tokens, nil
}

// serveKeyStore opens the API key store TIDE_API_KEYS names, with adminKeys
// in front of it.
func serveKeyStore(ctx context.Context, log *slog.Logger, adminKeys []string) (auth.KeyStore, error) {
	var store auth.KeyStore
	switch src := os.Getenv(envAPIKeys); src {
	case "":
		log.Warn("merchant API keys are off: set " + envAPIKeys + " to postgres or a key file")
	case "postgres":
		url := serveEnv("TIDE_POSTGRES_URL", "postgres://tide@127.0.0.1:15432/tide?sslmode=disable")
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			return nil, fmt.Errorf("api keys: %w", err)
		}
		context.AfterFunc(ctx, pool.Close)
		pg := auth.NewPGKeys(pool, log)
		if err := pg.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("api keys: %w", err)
		}
		store = pg
	default:
		f, err := auth.LoadKeyFile(src)
		if err != nil {
			return nil, err
		}
		log.Info("API keys loaded", "file", src, "keys", f.Len())
		store = f
	}
	if len(adminKeys) == 0 {
		return store, nil
	}
	var lines strings.Builder
	for _, k := range adminKeys {
		if raw, merchant, ok := strings.Cut(k, " merchant "); ok { // "<key> merchant <id>": the demo's dashboard keys
			fmt.Fprintf(&lines, "%s merchant %s built-in\n", auth.HashAPIKey(raw), merchant)
			continue
		}
		fmt.Fprintf(&lines, "%s admin built-in\n", auth.HashAPIKey(k))
	}
	builtin, err := auth.ParseKeyFile(strings.NewReader(lines.String()))
	if err != nil {
		return nil, err
	}
	return chainedKeys{builtin, store}, nil
}

// chainedKeys looks a key up in each store in turn.
type chainedKeys []auth.KeyStore

func (c chainedKeys) LookupKey(ctx context.Context, h auth.KeyHash) (auth.APIKey, error) {
	for _, s := range c {
		if s == nil {
			continue
		}
		k, err := s.LookupKey(ctx, h)
		if !errors.Is(err, auth.ErrUnknownKey) {
			return k, err
		}
	}
	return auth.APIKey{}, auth.ErrUnknownKey
}

// serveLimiter builds the rate limiter: the default rule for every
// procedure, a stricter per-IP rule for Login, Track's in events.
func serveLimiter(srv *serving.Server, trusted []netip.Prefix, exemptDefault string) (*ratelimit.Limiter, error) {
	exempt, err := clientip.ParsePrefixes(serveEnv(envRateExempt, exemptDefault))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envRateExempt, err)
	}
	rules, err := ratelimit.ParseRules(os.Getenv(envRateLimits))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envRateLimits, err)
	}
	opts := []ratelimit.Option{
		ratelimit.WithRule(tidev1connect.AuthServiceLoginProcedure,
			ratelimit.Rule{PerIP: ratelimit.PerMinute(loginPerIPPerMin, loginPerIPPerMin/2)}),
		ratelimit.WithRule(tidev1connect.EventServiceTrackProcedure, ratelimit.Rule{ // in events
			PerPrincipal: ratelimit.PerSecond(20, serving.MaxTrackBatch), PerIP: ratelimit.PerSecond(200, 1000)}),
		ratelimit.WithCost(tidev1connect.EventServiceTrackProcedure, trackEvents),
		ratelimit.WithTrustedProxies(trusted...),
		ratelimit.WithExempt(exempt...),
		ratelimit.WithRegisterer(srv.Registry()),
	}
	return ratelimit.New(append(opts, rules...)...), nil
}

// trackEvents is the cost of a Track call: its events.
func trackEvents(msg any) int {
	if r, ok := msg.(*tidev1.TrackRequest); ok {
		return len(r.GetEvents())
	}
	return 1
}
