package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
)

// Through a real server: ByIP, auth's interceptor and ByPrincipal in front of
// AuthService.WhoAmI, with two merchants' keys.
func TestInterceptorsEndToEnd(t *testing.T) {
	clk := newClock()
	keys, err := auth.ParseKeyFile(strings.NewReader(
		auth.HashAPIKey("tk_m1").String() + " merchant m1\n" + auth.HashAPIKey("tk_m2").String() + " merchant m2\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := New(WithClock(clk.now), WithDefault(Rule{PerPrincipal: PerSecond(1, 2), PerIP: PerSecond(1, 5)}))
	tokens, _ := auth.NewTokens([]auth.SigningKey{{ID: "k", Secret: []byte("0123456789abcdef0123456789abcdef")}})
	svc := auth.NewService(auth.NewWeChat("app", "secret"), "app", tokens)
	mux := http.NewServeMux()
	mux.Handle(svc.Handler(connect.WithInterceptors(l.ByIP(), auth.NewInterceptor(auth.NewAuthenticator(tokens, keys)), l.ByPrincipal())))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := tidev1connect.NewAuthServiceClient(srv.Client(), srv.URL)
	call := func(key string) error {
		req := connect.NewRequest(&tidev1.WhoAmIRequest{})
		if key != "" {
			req.Header().Set("Authorization", "Bearer "+key)
		}
		_, err := c.WhoAmI(context.Background(), req)
		return err
	}

	// m1: burst of 2, then resource_exhausted with a retry hint.
	for i := range 2 {
		if err := call("tk_m1"); err != nil {
			t.Fatalf("m1 call %d: %v", i+1, err)
		}
	}
	err = call("tk_m1")
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeResourceExhausted || !strings.Contains(ce.Message(), "WhoAmI") {
		t.Fatalf("m1 call 3: %v, want resource_exhausted naming WhoAmI", err)
	}
	if got := ce.Meta().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	var delay time.Duration
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if ri, ok := v.(*errdetails.RetryInfo); ok {
				delay = ri.GetRetryDelay().AsDuration()
			}
		}
	}
	if delay != time.Second {
		t.Errorf("RetryInfo delay %v, want 1s", delay)
	}

	// m2 has its own principal bucket.
	if err := call("tk_m2"); err != nil {
		t.Errorf("m2 refused because of m1: %v", err)
	}
	// Every call from this IP counts against its bucket of 5, even those
	// refused later: m1 took 3, m2 1, this anonymous call the last.
	if err := call(""); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("anonymous call: %v, want unauthenticated", err)
	}
	if err := call(""); connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "IP address") {
		t.Errorf("sixth call from the IP: %v, want resource_exhausted by IP", err)
	}
	clk.advance(time.Second)
	if err := call("tk_m1"); err != nil {
		t.Errorf("m1 after refill: %v", err)
	}
}
