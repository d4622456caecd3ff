package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
)

func TestInterceptorCredentials(t *testing.T) {
	now := time.Now()
	as := newAuthServer(t, nil, WithTokenClock(func() time.Time { return now }), WithTokenTTL(time.Hour))
	ctx := context.Background()
	login, err := as.client.Login(ctx, connect.NewRequest(&tidev1.LoginRequest{Code: "good-carol"}))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewTokens([]SigningKey{testKey("k9")})
	foreign, _, _ := other.Issue("u_mallory")

	tests := []struct {
		name   string
		header string // the whole Authorization header
		code   connect.Code
		role   tidev1.Role
		msg    string
	}{
		{name: "no credentials", code: connect.CodeUnauthenticated, msg: "missing credentials"},
		{name: "session token", header: "Bearer " + login.Msg.Token, role: tidev1.Role_ROLE_USER},
		{name: "lower-case scheme", header: "bearer " + login.Msg.Token, role: tidev1.Role_ROLE_USER},
		{name: "merchant key", header: "Bearer " + as.merchantKey, role: tidev1.Role_ROLE_MERCHANT},
		{name: "admin key", header: "Bearer " + as.adminKey, role: tidev1.Role_ROLE_ADMIN},
		{name: "unknown key", header: "Bearer tk_0000", code: connect.CodeUnauthenticated, msg: "unknown or revoked API key"},
		{name: "token of another keyring", header: "Bearer " + foreign, code: connect.CodeUnauthenticated, msg: "invalid session token"},
		{name: "basic auth", header: "Basic dXNlcjpwYXNz", code: connect.CodeUnauthenticated, msg: "Bearer"},
		{name: "bearer without value", header: "Bearer ", code: connect.CodeUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := connect.NewRequest(&tidev1.WhoAmIRequest{})
			if tt.header != "" {
				req.Header().Set("Authorization", tt.header)
			}
			res, err := as.client.WhoAmI(ctx, req)
			if tt.code != 0 {
				if connect.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("WhoAmI = %v, want %v containing %q", err, tt.code, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Msg.Role != tt.role {
				t.Errorf("role %v, want %v", res.Msg.Role, tt.role)
			}
			if tt.role == tidev1.Role_ROLE_MERCHANT && res.Msg.MerchantId != "m1" {
				t.Errorf("merchant %q, want m1", res.Msg.MerchantId)
			}
		})
	}

	// Expired: the message tells the client what to do.
	now = now.Add(2 * time.Hour)
	_, err = as.client.WhoAmI(ctx, bearer(&tidev1.WhoAmIRequest{}, login.Msg.Token))
	if connect.CodeOf(err) != connect.CodeUnauthenticated || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v, want unauthenticated … expired", err)
	}
}

// Login is public: it works without credentials and with stale ones (a
// client whose token expired logs in again).
func TestInterceptorPublicLogin(t *testing.T) {
	as := newAuthServer(t, nil)
	for _, cred := range []string{"", "expired.or.garbage", "tk_revoked"} {
		if _, err := as.client.Login(context.Background(), bearer(&tidev1.LoginRequest{Code: "good-dan"}, cred)); err != nil {
			t.Errorf("Login with credential %q: %v", cred, err)
		}
	}
}

type failingKeys struct{}

func (failingKeys) LookupKey(context.Context, KeyHash) (APIKey, error) {
	return APIKey{}, errors.New("connection refused")
}

// A key store outage is unavailable (retry), not unauthenticated (which
// would make clients drop a good key).
func TestInterceptorKeyStoreDown(t *testing.T) {
	as := newAuthServer(t, failingKeys{})
	_, err := as.client.WhoAmI(context.Background(), bearer(&tidev1.WhoAmIRequest{}, "tk_whatever"))
	if connect.CodeOf(err) != connect.CodeUnavailable || strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v, want unavailable without internals", err)
	}
}

func TestInterceptorWithPublic(t *testing.T) {
	tokens, _ := NewTokens([]SigningKey{testKey("k1")})
	i := NewInterceptor(NewAuthenticator(tokens, nil), WithPublic(tidev1connect.AuthServiceWhoAmIProcedure))
	got := Principal{Role: RoleAdmin}
	mux := http.NewServeMux()
	mux.Handle(tidev1connect.NewAuthServiceHandler(principalEcho{&got}, connect.WithInterceptors(i)))
	srv := newHTTPServer(t, mux)
	c := tidev1connect.NewAuthServiceClient(http.DefaultClient, srv)
	if _, err := c.WhoAmI(context.Background(), connect.NewRequest(&tidev1.WhoAmIRequest{})); err != nil {
		t.Fatalf("public WhoAmI without credentials: %v", err)
	}
	if got.Role != RoleAnonymous {
		t.Errorf("principal %+v, want anonymous", got)
	}
}

// principalEcho records the principal WhoAmI ran with.
type principalEcho struct{ got *Principal }

func (principalEcho) Login(context.Context, *connect.Request[tidev1.LoginRequest]) (*connect.Response[tidev1.LoginResponse], error) {
	return nil, connect.NewError(connect.CodeUnimplemented, nil)
}

func (e principalEcho) WhoAmI(ctx context.Context, _ *connect.Request[tidev1.WhoAmIRequest]) (*connect.Response[tidev1.WhoAmIResponse], error) {
	*e.got, _ = PrincipalFrom(ctx)
	return connect.NewResponse(&tidev1.WhoAmIResponse{}), nil
}

// fakeStream is a server-side stream with only a procedure and headers.
type fakeStream struct {
	connect.StreamingHandlerConn
	procedure string
	header    http.Header
}

func (f fakeStream) Spec() connect.Spec         { return connect.Spec{Procedure: f.procedure} }
func (f fakeStream) RequestHeader() http.Header { return f.header }

// Streaming handlers are authenticated too.
func TestInterceptorStreaming(t *testing.T) {
	tokens, _ := NewTokens([]SigningKey{testKey("k1")})
	token, _, _ := tokens.Issue("u_stream")
	i := NewInterceptor(NewAuthenticator(tokens, nil))
	var got Principal
	h := i.WrapStreamingHandler(func(ctx context.Context, _ connect.StreamingHandlerConn) error {
		got, _ = PrincipalFrom(ctx)
		return nil
	})
	err := h(context.Background(), fakeStream{procedure: "/tide.v1.LiveService/Watch", header: http.Header{}})
	if connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("stream without credentials: %v", err)
	}
	err = h(context.Background(), fakeStream{procedure: "/tide.v1.LiveService/Watch", header: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil || got.UserID != "u_stream" {
		t.Errorf("stream with a token: %v, principal %+v", err, got)
	}
}
