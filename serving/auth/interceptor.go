package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
)

// ErrNoCredentials is returned by Authenticate when the request carries no
// Authorization header.
var ErrNoCredentials = errors.New("no credentials")

// Authenticator turns an Authorization header into a Principal: a session
// token from Login (mini-program users) or an API key (tk_…, merchants and
// admins).
type Authenticator struct {
	tokens *Tokens
	keys   KeyStore
}

// NewAuthenticator verifies session tokens with tokens and API keys with
// keys; either may be nil, and that kind of credential is then refused.
func NewAuthenticator(tokens *Tokens, keys KeyStore) *Authenticator {
	return &Authenticator{tokens: tokens, keys: keys}
}

// Authenticate reads "Bearer <credential>" from the Authorization header
// value. It returns ErrNoCredentials for an empty header and an error
// wrapping ErrInvalidToken or ErrUnknownKey for a credential that does not
// check out; other errors mean the key store failed.
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (Principal, error) {
	if authorization == "" {
		return Principal{}, ErrNoCredentials
	}
	scheme, cred, ok := strings.Cut(authorization, " ")
	cred = strings.TrimSpace(cred)
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return Principal{}, fmt.Errorf("%w: Authorization must be \"Bearer <token or API key>\"", ErrInvalidToken)
	}
	if strings.HasPrefix(cred, APIKeyPrefix) {
		if a.keys == nil {
			return Principal{}, fmt.Errorf("%w: API keys are not enabled on this server", ErrUnknownKey)
		}
		k, err := a.keys.LookupKey(ctx, HashAPIKey(cred))
		if err != nil {
			return Principal{}, err
		}
		return k.Principal(), nil
	}
	if a.tokens == nil {
		return Principal{}, fmt.Errorf("%w: session tokens are not enabled on this server", ErrInvalidToken)
	}
	return a.tokens.Verify(cred)
}

// Procedures that need no credentials unless WithPublic says otherwise:
// Login, and the gRPC health checks.
var defaultPublic = []string{
	tidev1connect.AuthServiceLoginProcedure,
	"/grpc.health.v1.Health/Check",
	"/grpc.health.v1.Health/Watch",
}

// Interceptor authenticates every RPC, puts the caller's Principal in the
// handler's context, and refuses calls without valid credentials with
// unauthenticated — except public procedures (Login and health checks by
// default), which run with the caller's Principal when its credentials are
// valid and an anonymous one otherwise. It covers unary and streaming
// handlers.
type Interceptor struct {
	authn  *Authenticator
	public map[string]bool
	log    *slog.Logger
}

// InterceptorOption configures an Interceptor.
type InterceptorOption func(*Interceptor)

// WithPublic adds procedures (e.g. tidev1connect.AuthServiceLoginProcedure)
// that callers may use without credentials.
func WithPublic(procedures ...string) InterceptorOption {
	return func(i *Interceptor) {
		for _, p := range procedures {
			i.public[p] = true
		}
	}
}

// WithInterceptorLogger sets the logger for key-store failures (default
// slog.Default()).
func WithInterceptorLogger(l *slog.Logger) InterceptorOption {
	return func(i *Interceptor) { i.log = l }
}

// NewInterceptor authenticates with authn.
func NewInterceptor(authn *Authenticator, opts ...InterceptorOption) *Interceptor {
	i := &Interceptor{authn: authn, public: map[string]bool{}, log: slog.Default()}
	for _, p := range defaultPublic {
		i.public[p] = true
	}
	for _, o := range opts {
		o(i)
	}
	return i
}

// authenticate returns ctx with the caller, or the Connect error to answer.
func (i *Interceptor) authenticate(ctx context.Context, procedure string, h http.Header) (context.Context, error) {
	p, err := i.authn.Authenticate(ctx, h.Get("Authorization"))
	if err == nil {
		return WithPrincipal(ctx, p), nil
	}
	if i.public[procedure] {
		return WithPrincipal(ctx, Principal{Role: RoleAnonymous}), nil
	}
	switch {
	case errors.Is(err, ErrNoCredentials):
		return ctx, connect.NewError(connect.CodeUnauthenticated,
			errors.New("missing credentials: send Authorization: Bearer <session token from AuthService.Login, or API key>"))
	case errors.Is(err, jwt.ErrTokenExpired):
		return ctx, connect.NewError(connect.CodeUnauthenticated, errors.New("session token expired: call AuthService.Login again"))
	case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrUnknownKey):
		return ctx, connect.NewError(connect.CodeUnauthenticated, err)
	}
	i.log.ErrorContext(ctx, "authenticate", "procedure", procedure, "err", err)
	return ctx, connect.NewError(connect.CodeUnavailable, errors.New("cannot check credentials right now; retry"))
}

// WrapUnary implements connect.Interceptor.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := i.authenticate(ctx, req.Spec().Procedure, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor (nothing to do).
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.authenticate(ctx, conn.Spec().Procedure, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}
