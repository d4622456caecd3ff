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

	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
)

// tideUnderTest is a `tide serve` built by newServer, as runServe builds it,
// serving on a real loopback listener with real authentication: a fake
// code2session for Login and an API key file.
type tideUnderTest struct {
	base    string
	topic   string
	brokers []string
	appID   string
	// API keys of the key file: merchants m1 and m2, and an admin
	m1Key, m2Key, adminKey string
}

// startTide starts the server on a fresh topic with env set (on top of the
// auth settings) and stops it when the test ends.
func startTide(t *testing.T, env map[string]string) *tideUnderTest {
	t.Helper()
	brokers := testenv.Kafka(t)
	wechat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"openid":"o-%s","session_key":"sk"}`, r.URL.Query().Get("js_code"))
	}))
	t.Cleanup(wechat.Close)
	tt := &tideUnderTest{
		topic: fmt.Sprintf("test.%s.%d", strings.ToLower(strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())), time.Now().UnixNano()),
		appID: "wx_blackbox", brokers: brokers,
		m1Key: "tk_m1_" + t.Name(), m2Key: "tk_m2_" + t.Name(), adminKey: "tk_admin_" + t.Name(),
	}
	keyFile := filepath.Join(t.TempDir(), "keys")
	keys := auth.HashAPIKey(tt.m1Key).String() + " merchant m1\n" + auth.HashAPIKey(tt.m2Key).String() + " merchant m2\n" +
		auth.HashAPIKey(tt.adminKey).String() + " admin ops\n"
	if err := os.WriteFile(keyFile, []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		envSessionKeys:  "k1:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))),
		envWeChatAppID:  tt.appID,
		envWeChatSecret: "secret",
		envWeChatBase:   wechat.URL,
		envAPIKeys:      keyFile,
		// the ambient environment must not change what is tested
		envRateLimit: "", envRateLimits: "", envRateExempt: "", envTrusted: "",
		"TIDE_CLICKHOUSE_ADDR": "", "TIDE_POSTGRES_URL": "", "TIDE_EXPERIMENTS": "", "TIDE_FEED_RULES": "",
		envWeChatRisk: "", envWeChatRiskThreshold: "", envWeChatRiskCache: "", envWeChatRiskTimeout: "",
	}
	for k, v := range env {
		base[k] = v
	}
	for k, v := range base {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, closeFn, err := newServer(ctx, log, serveConfig{addr: "127.0.0.1:0", brokers: brokers, topic: tt.topic, partitions: 1, metrics: "main"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := serveListen("127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		closeFn()
	})
	tt.base = "http://" + ln.Addr().String()
	return tt
}

// login signs a mini-program user in through AuthService.Login and returns
// the session token and user id.
func (tt *tideUnderTest) login(t *testing.T, code string) (token, userID string) {
	t.Helper()
	c := tidev1connect.NewAuthServiceClient(http.DefaultClient, tt.base)
	res, err := c.Login(context.Background(), connect.NewRequest(&tidev1.LoginRequest{Code: code}))
	if err != nil {
		t.Fatalf("login %s: %v", code, err)
	}
	return res.Msg.GetToken(), res.Msg.GetUserId()
}

// track calls Track as cred (a session token or API key).
func (tt *tideUnderTest) track(cred string, events ...*tidev1.Event) error {
	c := tidev1connect.NewEventServiceClient(http.DefaultClient, tt.base, connect.WithProtoJSON())
	req := connect.NewRequest(&tidev1.TrackRequest{Events: events})
	req.Header().Set("Authorization", "Bearer "+cred)
	_, err := c.Track(context.Background(), req)
	return err
}
