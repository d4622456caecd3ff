package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
)

// maxCodeLen bounds a wx.login code (they are 32 characters today).
const maxCodeLen = 128

// weChatRetry is the retry hint when WeChat rate-limits a user (45011: at
// most 100 calls a minute per user).
const weChatRetry = 10 * time.Second

// Service implements tide.v1.AuthService.
type Service struct {
	tidev1connect.UnimplementedAuthServiceHandler

	wechat   CodeExchanger
	appID    string
	tokens   *Tokens
	accounts Accounts
	now      func() time.Time
	log      *slog.Logger
}

// ServiceOption configures a Service.
type ServiceOption func(*Service)

// WithServiceLogger sets the logger (default slog.Default()).
func WithServiceLogger(l *slog.Logger) ServiceOption { return func(s *Service) { s.log = l } }

// WithAccounts makes Login record when it first saw each user in accounts
// and carry that time in the session token (Principal.AccountCreated).
// Without it tokens carry no account creation time.
func WithAccounts(a Accounts) ServiceOption { return func(s *Service) { s.accounts = a } }

// WithServiceClock sets the clock first sightings are recorded with.
func WithServiceClock(now func() time.Time) ServiceOption { return func(s *Service) { s.now = now } }

// NewService signs in users of the mini-program appID by exchanging codes
// with wechat and issuing tokens. appID keys the user ids (UserIDFromOpenID).
// With a nil wechat, Login answers failed_precondition (not configured) and
// WhoAmI still works.
func NewService(wechat CodeExchanger, appID string, tokens *Tokens, opts ...ServiceOption) *Service {
	s := &Service{wechat: wechat, appID: appID, tokens: tokens, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Handler returns the path and handler to mount, e.g. with
// serving.Server.Mount(svc.Handler(srv.ConnectOptions()...)).
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return tidev1connect.NewAuthServiceHandler(s, opts...)
}

// Login implements AuthService.Login.
func (s *Service) Login(ctx context.Context, req *connect.Request[tidev1.LoginRequest]) (*connect.Response[tidev1.LoginResponse], error) {
	code := req.Msg.GetCode()
	switch {
	case code == "":
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("code is empty: pass the code from wx.login()"))
	case len(code) > maxCodeLen:
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("code is too long to be a wx.login() code"))
	}
	if s.wechat == nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New("WeChat login is not configured on this server"))
	}
	sess, err := s.wechat.Code2Session(ctx, code)
	if err != nil {
		return nil, s.weChatError(ctx, err)
	}
	userID := UserIDFromOpenID(s.appID, sess.OpenID)
	token, exp, err := s.tokens.IssueAccount(userID, s.firstSeen(ctx, userID, sess.OpenID))
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	return connect.NewResponse(&tidev1.LoginResponse{Token: token, ExpiresAt: exp.UnixMilli(), UserId: userID}), nil
}

// firstSeen is when the account of userID was created, recorded now if this
// is its first Login; zero without Accounts. When the store fails the login
// still succeeds, with a token that carries no creation time (the fresh
// account rule then does not see this user until the next Login): losing one
// fraud signal is better than refusing every sign-in while PostgreSQL is down.
func (s *Service) firstSeen(ctx context.Context, userID, openID string) time.Time {
	if s.accounts == nil {
		return time.Time{}
	}
	t, err := s.accounts.FirstSeen(ctx, userID, openID, s.now())
	if err != nil {
		s.log.WarnContext(ctx, "login: account first seen not recorded; token carries no acct_created", "user_id", userID, "err", err)
		return time.Time{}
	}
	return t
}

// weChatError maps a code2session failure to the Connect error a client can
// act on.
func (s *Service) weChatError(ctx context.Context, err error) error {
	var we *WeChatError
	if !errors.As(err, &we) {
		if ctx.Err() != nil {
			return connect.NewError(connect.CodeCanceled, ctx.Err())
		}
		s.log.WarnContext(ctx, "code2session failed", "err", err)
		return connect.NewError(connect.CodeUnavailable, errors.New("WeChat login is unreachable; retry"))
	}
	switch we.Code {
	case WeChatInvalidCode:
		return connect.NewError(connect.CodeInvalidArgument, errors.New("invalid code: call wx.login() again and pass its new code"))
	case WeChatCodeUsed:
		return connect.NewError(connect.CodeInvalidArgument, errors.New("code already used: call wx.login() again and pass its new code"))
	case WeChatRateLimited:
		return RetryError(connect.CodeResourceExhausted, errors.New("too many logins for this user; retry later"), weChatRetry)
	case WeChatHighRisk:
		return connect.NewError(connect.CodePermissionDenied, errors.New("WeChat blocked this login as high-risk"))
	case WeChatSystemBusy:
		return RetryError(connect.CodeUnavailable, errors.New("WeChat is busy; retry"), time.Second)
	}
	s.log.WarnContext(ctx, "code2session refused", "errcode", we.Code, "errmsg", we.Msg)
	return connect.NewError(connect.CodeInternal, errors.New("WeChat refused the login (errcode "+strconv.Itoa(we.Code)+")"))
}

// WhoAmI implements AuthService.WhoAmI.
func (s *Service) WhoAmI(ctx context.Context, _ *connect.Request[tidev1.WhoAmIRequest]) (*connect.Response[tidev1.WhoAmIResponse], error) {
	p, ok := PrincipalFrom(ctx)
	if !ok || p.Role == RoleAnonymous {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("no credentials"))
	}
	res := &tidev1.WhoAmIResponse{UserId: p.UserID, MerchantId: p.MerchantID}
	switch p.Role {
	case RoleUser:
		res.Role = tidev1.Role_ROLE_USER
	case RoleMerchant:
		res.Role = tidev1.Role_ROLE_MERCHANT
	case RoleAdmin:
		res.Role = tidev1.Role_ROLE_ADMIN
	}
	if !p.Expires.IsZero() {
		res.ExpiresAt = p.Expires.UnixMilli()
	}
	return connect.NewResponse(res), nil
}

// RetryError is a Connect error with a retry hint in two forms: a
// Retry-After header (whole seconds, rounded up; Connect sends error
// metadata as response headers) and a google.rpc.RetryInfo detail.
func RetryError(code connect.Code, err error, after time.Duration) *connect.Error {
	ce := connect.NewError(code, err)
	secs := int64((after + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	ce.Meta().Set("Retry-After", strconv.FormatInt(secs, 10))
	if d, derr := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(after)}); derr == nil {
		ce.AddDetail(d)
	}
	return ce
}
