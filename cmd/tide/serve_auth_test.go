package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce/postgres/pgtest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
)

// setupAuth configured from the environment: Login against a fake
// code2session, API keys from a file and a built-in admin key.
func TestSetupAuth(t *testing.T) {
	wechat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("secret") != "s3cret" {
			fmt.Fprint(w, `{"errcode":40013,"errmsg":"invalid appid"}`)
			return
		}
		fmt.Fprintf(w, `{"openid":"o-%s","session_key":"sk"}`, r.URL.Query().Get("js_code"))
	}))
	defer wechat.Close()
	keyFile := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keyFile, []byte(auth.HashAPIKey("tk_m9").String()+" merchant m9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envSessionKeys, "k1:"+base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", 32))))
	t.Setenv(envWeChatAppID, "wxapp")
	t.Setenv(envWeChatSecret, "s3cret")
	t.Setenv(envWeChatBase, wechat.URL)
	t.Setenv(envAPIKeys, keyFile)
	t.Setenv(envRateLimits, "default=principal:100/s")
	t.Setenv("TIDE_POSTGRES_URL", pgtest.Database(t)) // accounts: on by default with login

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := serving.New(serving.WithLogger(log))
	facts, err := setupAuth(ctx, log, srv, serveConfig{adminKeys: []string{"tk_builtin_admin"}})
	if err != nil || facts == nil {
		t.Fatalf("setupAuth = %v, %v", facts, err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	c := tidev1connect.NewAuthServiceClient(hs.Client(), hs.URL)

	login, err := c.Login(ctx, connect.NewRequest(&tidev1.LoginRequest{Code: "abc"}))
	if err != nil {
		t.Fatal(err)
	}
	if login.Msg.UserId != auth.UserIDFromOpenID("wxapp", "o-abc") {
		t.Errorf("user id %s", login.Msg.UserId)
	}
	// The first sighting was recorded and rides in the token, for Track's acct_created.
	if p, err := tokensFromEnv(t).Verify(login.Msg.Token); err != nil || time.Since(p.AccountCreated) > time.Minute {
		t.Errorf("login token: %+v, %v; want AccountCreated about now", p, err)
	}
	for cred, want := range map[string]tidev1.Role{
		login.Msg.Token:    tidev1.Role_ROLE_USER,
		"tk_m9":            tidev1.Role_ROLE_MERCHANT,
		"tk_builtin_admin": tidev1.Role_ROLE_ADMIN,
	} {
		req := connect.NewRequest(&tidev1.WhoAmIRequest{})
		req.Header().Set("Authorization", "Bearer "+cred)
		res, err := c.WhoAmI(ctx, req)
		if err != nil || res.Msg.Role != want {
			t.Errorf("WhoAmI(%.8s…) = %v, %v; want %v", cred, res, err, want)
		}
	}
	if _, err := c.WhoAmI(ctx, connect.NewRequest(&tidev1.WhoAmIRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("WhoAmI without credentials: %v", err)
	}
}

// tokensFromEnv verifies with the keys TIDE_SESSION_KEYS names.
func tokensFromEnv(t *testing.T) *auth.Tokens {
	t.Helper()
	keys, err := auth.ParseSigningKeys(os.Getenv(envSessionKeys))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(keys)
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

func TestSetupAuthRejectsBadConfig(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for env, val := range map[string]string{
		envSessionKeys: "k1:c2hvcnQ=", // "short"
		envAPIKeys:     filepath.Join(t.TempDir(), "missing"),
		envTrusted:     "10.0.0.0/33",
		envRateLimits:  "Login=ip:1/s",
		envIPHashKey:   "c2hvcnQ=",
		envAccounts:    "mysql",
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			if _, err := setupAuth(context.Background(), log, serving.New(serving.WithLogger(log)), serveConfig{}); err == nil {
				t.Errorf("%s=%s accepted", env, val)
			}
		})
	}
}
