package auth

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
)

// authServer is AuthService behind the Interceptor on a real HTTP server,
// with a fake code2session, static API keys and a client.
type authServer struct {
	client      tidev1connect.AuthServiceClient
	url         string
	tokens      *Tokens
	merchantKey string // merchant m1
	adminKey    string
}

func newAuthServer(t *testing.T, keys KeyStore, opts ...TokenOption) *authServer {
	t.Helper()
	fake, _ := fakeWeChat(t)
	tokens, err := NewTokens([]SigningKey{testKey("k1")}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	as := &authServer{tokens: tokens, merchantKey: "tk_merchant_m1_test", adminKey: "tk_admin_test"}
	if keys == nil {
		keys, err = ParseKeyFile(strings.NewReader(
			HashAPIKey(as.merchantKey).String() + " merchant m1 dashboard\n" +
				HashAPIKey(as.adminKey).String() + " admin ops\n"))
		if err != nil {
			t.Fatal(err)
		}
	}
	svc := NewService(NewWeChat(testAppID, testSecret, WithWeChatBaseURL(fake.URL)), testAppID, tokens)
	mux := http.NewServeMux()
	mux.Handle(svc.Handler(connect.WithInterceptors(NewInterceptor(NewAuthenticator(tokens, keys)))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	as.url = srv.URL
	as.client = tidev1connect.NewAuthServiceClient(srv.Client(), srv.URL)
	return as
}

func bearer[T any](msg *T, cred string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	if cred != "" {
		req.Header().Set("Authorization", "Bearer "+cred)
	}
	return req
}

func TestLoginThenWhoAmI(t *testing.T) {
	as := newAuthServer(t, nil)
	ctx := context.Background()
	res, err := as.client.Login(ctx, connect.NewRequest(&tidev1.LoginRequest{Code: "good-alice"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := UserIDFromOpenID(testAppID, "openid-alice"); res.Msg.UserId != want {
		t.Errorf("user id %q, want %q", res.Msg.UserId, want)
	}
	if strings.Contains(res.Msg.Token, "SESSIONKEY") || strings.Contains(res.Msg.Token, "openid") {
		t.Errorf("token carries WeChat data: %s", res.Msg.Token)
	}
	if exp := time.UnixMilli(res.Msg.ExpiresAt); time.Until(exp) < DefaultTokenTTL-time.Minute {
		t.Errorf("expires at %v, want about %v from now", exp, DefaultTokenTTL)
	}
	who, err := as.client.WhoAmI(ctx, bearer(&tidev1.WhoAmIRequest{}, res.Msg.Token))
	if err != nil {
		t.Fatal(err)
	}
	if who.Msg.Role != tidev1.Role_ROLE_USER || who.Msg.UserId != res.Msg.UserId || who.Msg.ExpiresAt != res.Msg.ExpiresAt {
		t.Errorf("WhoAmI = %v, want the logged-in user", who.Msg)
	}

	// Another code of the same user is the same user; another user is not.
	again, _ := as.client.Login(ctx, connect.NewRequest(&tidev1.LoginRequest{Code: "good-alice"}))
	bob, _ := as.client.Login(ctx, connect.NewRequest(&tidev1.LoginRequest{Code: "good-bob"}))
	if again.Msg.UserId != res.Msg.UserId || bob.Msg.UserId == res.Msg.UserId {
		t.Errorf("user ids: alice %s, alice again %s, bob %s", res.Msg.UserId, again.Msg.UserId, bob.Msg.UserId)
	}
}

func TestLoginErrors(t *testing.T) {
	as := newAuthServer(t, nil)
	ctx := context.Background()
	for code, want := range map[string]connect.Code{
		"":                       connect.CodeInvalidArgument,
		strings.Repeat("x", 200): connect.CodeInvalidArgument,
		"invalid":                connect.CodeInvalidArgument,
		"used":                   connect.CodeInvalidArgument,
		"limited":                connect.CodeResourceExhausted,
		"busy":                   connect.CodeUnavailable,
		"risky":                  connect.CodePermissionDenied,
		"http500":                connect.CodeUnavailable,
		"garbage":                connect.CodeUnavailable,
	} {
		_, err := as.client.Login(ctx, connect.NewRequest(&tidev1.LoginRequest{Code: code}))
		if got := connect.CodeOf(err); got != want {
			t.Errorf("Login(%.10q) = %v (%v), want %v", code, got, err, want)
		}
		if err != nil && strings.Contains(err.Error(), testSecret) {
			t.Errorf("error reveals the app secret: %v", err)
		}
	}
}

func TestLoginRateLimitedByWeChatHasRetryHint(t *testing.T) {
	as := newAuthServer(t, nil)
	_, err := as.client.Login(context.Background(), connect.NewRequest(&tidev1.LoginRequest{Code: "limited"}))
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeResourceExhausted {
		t.Fatalf("err = %v, want resource_exhausted", err)
	}
	if got := ce.Meta().Get("Retry-After"); got != "10" {
		t.Errorf("Retry-After = %q, want 10", got)
	}
	if d := retryInfo(t, ce); d != weChatRetry {
		t.Errorf("RetryInfo delay = %v, want %v", d, weChatRetry)
	}
}

// retryInfo returns the delay of ce's google.rpc.RetryInfo detail.
func retryInfo(t *testing.T, ce *connect.Error) time.Duration {
	t.Helper()
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			t.Fatal(err)
		}
		if ri, ok := v.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	t.Fatalf("no RetryInfo detail in %v", ce)
	return 0
}

func TestWeChatUnreachable(t *testing.T) {
	tokens, _ := NewTokens([]SigningKey{testKey("k1")})
	svc := NewService(NewWeChat(testAppID, testSecret, WithWeChatBaseURL("http://127.0.0.1:1")), testAppID, tokens)
	_, err := svc.Login(context.Background(), connect.NewRequest(&tidev1.LoginRequest{Code: "good-a"}))
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("err = %v, want unavailable", err)
	}
}

func newHTTPServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestLoginNotConfigured(t *testing.T) {
	tokens, _ := NewTokens([]SigningKey{testKey("k1")})
	_, err := NewService(nil, "", tokens).Login(context.Background(), connect.NewRequest(&tidev1.LoginRequest{Code: "good-a"}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Errorf("err = %v, want failed_precondition", err)
	}
}
