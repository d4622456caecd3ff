package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/wxapp"
	"github.com/tide-live/tide/commerce/wxrisk"
	"github.com/tide-live/tide/features/fraud/fraudch"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/clientip"
	"github.com/tide-live/tide/serving/commerce/riskgate"
)

// Environment of checkout's risk gate (fraud rule R7): before a flash-sale
// or coupon order, WeChat's getUserRiskRank (scene 1, 营销作弊) ranks the
// buyer, found by the openid they last logged in with (auth_accounts) or
// else last paid with; a rank at or above the
// threshold is refused (permission_denied, 账号存在风险，请稍后再试). It is on
// when TIDE_WECHAT_APPID and TIDE_WECHAT_SECRET are set (the shipping
// upload's credentials, one access token for both).
//
//	TIDE_WECHAT_RISK            "off" turns the gate off (default on)
//	TIDE_WECHAT_RISK_THRESHOLD  the lowest refused rank, 1..4 (default 3)
//	TIDE_WECHAT_RISK_CACHE      how long a buyer's rank is reused (default 10m, at most 24h)
//	TIDE_WECHAT_RISK_TIMEOUT    how long a lookup may take before the order goes
//	                            through unchecked (default 300ms)
//
// Refusals are flagged in ClickHouse's fraud_flags (rule r7_wechat_risk_rank)
// when TIDE_CLICKHOUSE_ADDR is set (TIDE_CLICKHOUSE_DATABASE, default tide)
// and TIDE_FRAUD is not off; always logged.
const (
	envWeChatRisk          = "TIDE_WECHAT_RISK"
	envWeChatRiskThreshold = "TIDE_WECHAT_RISK_THRESHOLD"
	envWeChatRiskCache     = "TIDE_WECHAT_RISK_CACHE"
	envWeChatRiskTimeout   = "TIDE_WECHAT_RISK_TIMEOUT"
)

// serveWeChatApp is the mini-program's server API client (its access
// token), shared by the shipping upload and the risk gate; nil when the
// credentials are not set.
func serveWeChatApp() (*wxapp.Client, error) {
	appID, secret := os.Getenv(envWeChatAppID), os.Getenv(envWeChatSecret)
	if appID == "" || secret == "" {
		return nil, nil
	}
	return wxapp.New(wxapp.Config{AppID: appID, Secret: secret, BaseURL: serveEnv(envWeChatBase, wxapp.DefaultBaseURL)})
}

// serveRiskGate builds the gate from the environment; nil when it is off
// or app is nil. Flags it raises are written until ctx ends.
func serveRiskGate(ctx context.Context, log *slog.Logger, reg prometheus.Registerer, app *wxapp.Client, pool *pgxpool.Pool, orders *postgres.Orders) (*riskgate.Gate, error) {
	switch v := os.Getenv(envWeChatRisk); {
	case v != "" && v != "on" && v != "off":
		return nil, fmt.Errorf("%s=%q: want on or off", envWeChatRisk, v)
	case v == "off":
		log.Info("risk gate off (" + envWeChatRisk + "=off)")
		return nil, nil
	case app == nil:
		log.Info("risk gate off: " + envWeChatAppID + " and " + envWeChatSecret + " are needed")
		return nil, nil
	}
	trusted, err := clientip.ParsePrefixes(os.Getenv(envTrusted))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envTrusted, err)
	}
	opts := []riskgate.Option{riskgate.WithClients(clientip.New(trusted...)), riskgate.WithLogger(log), riskgate.WithRegisterer(reg)}
	if s := os.Getenv(envWeChatRiskThreshold); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: want a rank 1..4", envWeChatRiskThreshold, s)
		}
		opts = append(opts, riskgate.WithThreshold(n))
	}
	for _, d := range []struct {
		env string
		opt func(time.Duration) riskgate.Option
	}{{envWeChatRiskCache, riskgate.WithTTL}, {envWeChatRiskTimeout, riskgate.WithTimeout}} {
		if s := os.Getenv(d.env); s != "" {
			v, err := time.ParseDuration(s)
			if err != nil {
				return nil, fmt.Errorf("%s=%q: want a duration like 10m or 300ms", d.env, s)
			}
			opts = append(opts, d.opt(v))
		}
	}
	if w := serveRiskFlags(ctx, log); w != nil {
		opts = append(opts, riskgate.WithFlags(w.Add))
	}
	g, err := riskgate.New(wxrisk.New(app), buyerOpenID(auth.NewPGAccounts(pool), orders), opts...)
	if err != nil {
		return nil, fmt.Errorf("risk gate (%s…): %w", envWeChatRisk, err)
	}
	log.Info("risk gate on: flash-sale and coupon orders are checked against WeChat's risk rank")
	return g, nil
}

// serveRiskFlags is the writer of the gate's flags into fraud_flags, run
// until ctx ends; nil without ClickHouse or with TIDE_FRAUD=off.
func serveRiskFlags(ctx context.Context, log *slog.Logger) *fraudch.Writer {
	addr := os.Getenv("TIDE_CLICKHOUSE_ADDR")
	if addr == "" || os.Getenv("TIDE_FRAUD") == "off" {
		log.Info("risk gate: refusals are logged, not flagged in ClickHouse (TIDE_CLICKHOUSE_ADDR unset or TIDE_FRAUD=off)")
		return nil
	}
	conn, err := ingest.OpenClickHouse(ctx, addr)
	if err != nil {
		log.Warn("risk gate: refusals are not flagged in ClickHouse", "err", err)
		return nil
	}
	w, err := fraudch.NewWriter(conn, serveEnv("TIDE_CLICKHOUSE_DATABASE", "tide"), fraudch.WithLogger(log))
	if err != nil {
		conn.Close()
		log.Warn("risk gate: refusals are not flagged in ClickHouse", "err", err)
		return nil
	}
	go func() {
		defer conn.Close()
		_ = w.Run(ctx, time.Second)
	}()
	return w
}

// buyerOpenID finds a buyer's openid where Login keeps it, else in their
// latest payment (accounts from before Login kept openids, or a server with
// TIDE_ACCOUNTS=off, whose auth_accounts may not exist: its error falls back
// too, so the gate still checks buyers who paid).
func buyerOpenID(accounts *auth.PGAccounts, orders *postgres.Orders) riskgate.OpenIDs {
	return func(ctx context.Context, userID string) (string, bool, error) {
		if id, ok, err := accounts.OpenID(ctx, userID); err == nil && ok {
			return id, true, nil
		}
		return orders.PayerOpenID(ctx, userID)
	}
}
