package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TIDE_LIVE_PROVIDER builds each provider from its variables, names every
// missing one, and, unset, picks nginx only when nginx answers /healthz.
func TestLiveProviderFromEnv(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer up.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	defer down.Close()

	tencentEnv := map[string]string{"TIDE_TENCENT_PUSH_DOMAIN": "push.t", "TIDE_TENCENT_PLAY_DOMAIN": "play.t",
		"TIDE_TENCENT_PUSH_KEY": "a", "TIDE_TENCENT_PLAY_KEY": "b", "TIDE_TENCENT_CALLBACK_KEY": "c",
		"TIDE_TENCENT_SECRET_ID": "id", "TIDE_TENCENT_SECRET_KEY": "k", "TIDE_TENCENT_API_ENDPOINT": "http://127.0.0.1:1"}
	aliyunEnv := map[string]string{"TIDE_ALIYUN_PUSH_DOMAIN": "push.a", "TIDE_ALIYUN_PLAY_DOMAIN": "play.a",
		"TIDE_ALIYUN_PUSH_KEY": "a", "TIDE_ALIYUN_PLAY_KEY": "b", "TIDE_ALIYUN_CALLBACK_KEY": "c",
		"TIDE_ALIYUN_ACCESS_KEY_ID": "id", "TIDE_ALIYUN_ACCESS_KEY_SECRET": "k"}
	cases := []struct {
		name     string
		env      map[string]string
		want     string // provider name, "" for none
		wantErrs []string
	}{
		{"none", map[string]string{envLiveProvider: "none"}, "", nil},
		{"unset, nginx up", map[string]string{"TIDE_NGINX_HTTP": up.URL}, "nginx", nil},
		{"unset, nginx down", map[string]string{"TIDE_NGINX_HTTP": down.URL}, "", nil},
		{"nginx", map[string]string{envLiveProvider: "nginx"}, "nginx", nil},
		{"tencent", with(tencentEnv, envLiveProvider, "tencent"), "tencent", nil},
		{"aliyun", with(aliyunEnv, envLiveProvider, "aliyun"), "aliyun", nil},
		{"tencent missing", map[string]string{envLiveProvider: "tencent", "TIDE_TENCENT_PUSH_DOMAIN": "p"}, "",
			[]string{"TIDE_TENCENT_PLAY_DOMAIN is required", "TIDE_TENCENT_CALLBACK_KEY is required", "TIDE_TENCENT_SECRET_KEY is required"}},
		{"tencent bad endpoint", with(with(tencentEnv, envLiveProvider, "tencent"), "TIDE_TENCENT_API_ENDPOINT", "127.0.0.1:1"), "",
			[]string{"TIDE_TENCENT_API_ENDPOINT"}},
		{"aliyun missing", map[string]string{envLiveProvider: "aliyun"}, "",
			[]string{"TIDE_ALIYUN_PUSH_DOMAIN is required", "TIDE_ALIYUN_ACCESS_KEY_SECRET is required"}},
		{"unknown", map[string]string{envLiveProvider: "wowza"}, "", []string{`"wowza"`, "nginx, tencent, aliyun or none"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{envLiveProvider, "TIDE_NGINX_HTTP"} {
				t.Setenv(k, "")
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			p, err := liveProviderFromEnv(context.Background(), log, prometheus.NewRegistry())
			if len(c.wantErrs) > 0 {
				if err == nil {
					t.Fatalf("no error, provider %v", p)
				}
				for _, w := range c.wantErrs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if p != nil {
				got = p.Name()
			}
			if got != c.want {
				t.Fatalf("provider %q, want %q", got, c.want)
			}
		})
	}
}

// with is a copy of m with k set to v.
func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for mk, mv := range m {
		if mk != k {
			out[mk] = mv
		}
	}
	return out
}
