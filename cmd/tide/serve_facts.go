package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/callerfacts"
	"github.com/tide-live/tide/serving/clientip"
)

// Environment of the caller facts Track stamps on events (attrs["ip"],
// attrs["acct_created"]) for the anti-fraud rules.
//
//	TIDE_IP_HASH_KEY   base64 key (16+ bytes) of the keyed hash events store instead
//	                   of client IPs; the same on every replica (default: a random
//	                   key per process, with a warning). `openssl rand -base64 32`
//	TIDE_ACCOUNTS      "postgres": Login records each user's first sighting in table
//	                   auth_accounts of TIDE_POSTGRES_URL (migrated at start) and puts
//	                   it in the session token; "off": tokens carry no account age
//	                   (the fresh-account rule R3 sees nobody). Default: postgres when
//	                   WeChat login is on and TIDE_POSTGRES_URL is set, else off.
//
// TIDE_TRUSTED_PROXIES (serve_auth.go) decides which X-Forwarded-For is
// believed, for the rate limits and these facts alike.
const (
	envIPHashKey = "TIDE_IP_HASH_KEY"
	envAccounts  = "TIDE_ACCOUNTS"
)

// serveCallerFacts builds the stamper of client IPs (hashed) and account
// ages, resolving clients behind trusted proxies.
func serveCallerFacts(log *slog.Logger, trusted []netip.Prefix) (*callerfacts.Stamper, error) {
	var key []byte
	if s := os.Getenv(envIPHashKey); s != "" {
		var err error
		if key, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, fmt.Errorf("%s: not base64: %w", envIPHashKey, err)
		}
	} else {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		log.Warn("client IPs are hashed with a random key: the same client hashes differently on other replicas and after a restart; set " + envIPHashKey)
	}
	f, err := callerfacts.New(clientip.New(trusted...), key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envIPHashKey, err)
	}
	return f, nil
}

// serveAccounts opens the store of users' first sightings, or nil when
// TIDE_ACCOUNTS (default: postgres when login is on and TIDE_POSTGRES_URL
// is set) says off.
func serveAccounts(ctx context.Context, log *slog.Logger, loginOn bool) (auth.Accounts, error) {
	mode := strings.TrimSpace(os.Getenv(envAccounts))
	if mode == "" {
		mode = "off"
		if loginOn && os.Getenv("TIDE_POSTGRES_URL") != "" {
			mode = "postgres"
		}
	}
	switch mode {
	case "off":
		if loginOn {
			log.Warn("session tokens carry no account creation time: the fresh-account fraud rule is off; set " + envAccounts + "=postgres")
		}
		return nil, nil
	case "postgres":
	default:
		return nil, fmt.Errorf("%s: %q, want postgres or off", envAccounts, mode)
	}
	pool, err := pgxpool.New(ctx, serveEnv("TIDE_POSTGRES_URL", "postgres://tide@127.0.0.1:15432/tide?sslmode=disable"))
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	context.AfterFunc(ctx, pool.Close)
	if err := auth.Migrate(ctx, pool, log); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return auth.NewPGAccounts(pool), nil
}
