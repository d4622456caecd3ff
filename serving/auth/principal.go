// Package auth says who is calling: mini-program users with a signed session
// token, merchants with API keys scoped to their merchant id, and admins.
// Handlers read the caller with PrincipalFrom (or RequireUser,
// RequireMerchant, RequireAdmin); they never trust ids in a request body for
// tenancy.
//
// The pieces: Tokens signs and verifies session tokens (JWT, HS256, with key
// ids for rotation); WeChat exchanges a wx.login code for the user's openid
// (code2session); Service is AuthService (Login, WhoAmI); KeyStore finds API
// keys by their SHA-256 (PGKeys in PostgreSQL, StaticKeys from a file);
// Authenticator turns an Authorization header into a Principal; Interceptor
// does that for every RPC and refuses callers without credentials.
package auth

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
)

// Role is what kind of caller a Principal is.
type Role int

// Roles, from least to most privileged.
const (
	RoleAnonymous Role = iota // no credentials
	RoleUser                  // a mini-program viewer with a session token
	RoleMerchant              // a merchant with an API key
	RoleAdmin                 // an operator
)

// String names the role.
func (r Role) String() string {
	switch r {
	case RoleUser:
		return "user"
	case RoleMerchant:
		return "merchant"
	case RoleAdmin:
		return "admin"
	default:
		return "anonymous"
	}
}

// ParseRole is the inverse of Role.String for the roles a credential can
// have (user, merchant, admin).
func ParseRole(s string) (Role, error) {
	switch s {
	case "user":
		return RoleUser, nil
	case "merchant":
		return RoleMerchant, nil
	case "admin":
		return RoleAdmin, nil
	}
	return RoleAnonymous, errors.New("unknown role " + s + " (want user, merchant or admin)")
}

// Principal is the authenticated caller of an RPC.
type Principal struct {
	Role       Role
	UserID     string    // set for RoleUser
	MerchantID string    // set for RoleMerchant
	KeyID      string    // the API key's id for RoleMerchant and RoleAdmin (for audit logs)
	Expires    time.Time // when the credential expires; zero when it does not
	// AccountCreated is when tide first saw the user (RoleUser, from the
	// session token; see Accounts); zero when unknown.
	AccountCreated time.Time
}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller carried by ctx, and false when there is none.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// RequireUser returns the mini-program user calling, an unauthenticated
// error when the caller has no credentials, and permission_denied when it
// is a merchant or admin (who have no user id to act as).
func RequireUser(ctx context.Context) (Principal, error) {
	p, ok := PrincipalFrom(ctx)
	switch {
	case !ok || p.Role == RoleAnonymous:
		return p, connect.NewError(connect.CodeUnauthenticated, errors.New("this call needs a session token: call AuthService.Login"))
	case p.Role != RoleUser || p.UserID == "":
		return p, connect.NewError(connect.CodePermissionDenied, errors.New("this call is for mini-program users, not "+p.Role.String()+"s"))
	}
	return p, nil
}

// RequireMerchant returns the caller when it may act for merchantID: the
// merchant itself or an admin. Other merchants and users get
// permission_denied, callers without credentials unauthenticated, and an
// empty merchantID invalid_argument. Take merchantID from the resource being
// touched (or from MerchantOf), never from a field the caller chose freely.
func RequireMerchant(ctx context.Context, merchantID string) (Principal, error) {
	p, ok := PrincipalFrom(ctx)
	switch {
	case !ok || p.Role == RoleAnonymous:
		return p, connect.NewError(connect.CodeUnauthenticated, errors.New("this call needs a merchant API key (Authorization: Bearer tk_…)"))
	case merchantID == "":
		return p, connect.NewError(connect.CodeInvalidArgument, errors.New("merchant id is empty"))
	case p.Role == RoleAdmin:
		return p, nil
	case p.Role == RoleMerchant && p.MerchantID == merchantID:
		return p, nil
	case p.Role == RoleMerchant:
		return p, connect.NewError(connect.CodePermissionDenied, errors.New("this API key belongs to another merchant"))
	}
	return p, connect.NewError(connect.CodePermissionDenied, errors.New("this call is for merchants, not "+p.Role.String()+"s"))
}

// MerchantOf returns the merchant id a merchant caller is scoped to, for
// reads that list "my" data. Admins have no merchant of their own and get
// invalid_argument (they must name one and pass RequireMerchant); users get
// permission_denied.
func MerchantOf(ctx context.Context) (string, error) {
	p, ok := PrincipalFrom(ctx)
	switch {
	case !ok || p.Role == RoleAnonymous:
		return "", connect.NewError(connect.CodeUnauthenticated, errors.New("this call needs a merchant API key (Authorization: Bearer tk_…)"))
	case p.Role == RoleMerchant && p.MerchantID != "":
		return p.MerchantID, nil
	case p.Role == RoleAdmin:
		return "", connect.NewError(connect.CodeInvalidArgument, errors.New("an admin key has no merchant of its own: name the merchant"))
	}
	return "", connect.NewError(connect.CodePermissionDenied, errors.New("this call is for merchants, not "+p.Role.String()+"s"))
}

// RequireAdmin returns the caller when it is an admin, and
// permission_denied (or unauthenticated) otherwise.
func RequireAdmin(ctx context.Context) (Principal, error) {
	p, ok := PrincipalFrom(ctx)
	switch {
	case !ok || p.Role == RoleAnonymous:
		return p, connect.NewError(connect.CodeUnauthenticated, errors.New("this call needs an admin API key"))
	case p.Role != RoleAdmin:
		return p, connect.NewError(connect.CodePermissionDenied, errors.New("this call is for admins only"))
	}
	return p, nil
}
