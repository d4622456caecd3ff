package auth

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Session token defaults.
const (
	DefaultTokenTTL = 7 * 24 * time.Hour // how long a Login session lasts
	DefaultIssuer   = "tide"             // the token's iss claim
	// MinSecretBytes is the shortest HMAC secret NewTokens accepts.
	MinSecretBytes = 32
	tokenLeeway    = 30 * time.Second // clock skew tolerated between replicas
	userIDPrefix   = "u_"
)

// ErrInvalidToken is wrapped by every Verify failure: bad signature, unknown
// key id, expired, malformed.
var ErrInvalidToken = errors.New("invalid session token")

// SigningKey is one HMAC-SHA256 secret with the id carried in the token
// header (kid), so secrets can be rotated without logging everyone out.
type SigningKey struct {
	ID     string
	Secret []byte
}

// ParseSigningKeys reads keys written as "id:base64secret,id:base64secret"
// (standard or URL base64, padded or not). The first key signs new tokens;
// all of them verify. Make a secret with `openssl rand -base64 32`.
func ParseSigningKeys(s string) ([]SigningKey, error) {
	var keys []SigningKey
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, enc, ok := strings.Cut(part, ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("signing key %q: want id:base64secret", redact(part))
		}
		secret, err := decodeBase64(enc)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: secret is not base64: %w", id, err)
		}
		keys = append(keys, SigningKey{ID: id, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, errors.New("no signing keys")
	}
	return keys, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func redact(s string) string {
	if id, _, ok := strings.Cut(s, ":"); ok {
		return id + ":…"
	}
	return "…"
}

// Tokens issues and verifies session tokens: compact JWTs signed with
// HMAC-SHA256, carrying the user id (sub), issuer, issue and expiry times,
// the account's creation time (acct_created, Unix ms, when known), and the
// signing key's id in the header. They carry no WeChat session_key
// or openid. Tokens is safe for concurrent use.
type Tokens struct {
	signer SigningKey
	keys   map[string][]byte
	ttl    time.Duration
	issuer string
	now    func() time.Time
	parser *jwt.Parser
	cached int             // WithVerifiedTokens
	seen   *verifiedTokens // nil: every Verify checks in full
}

// TokenOption configures Tokens.
type TokenOption func(*Tokens)

// WithTokenTTL sets how long an issued token lasts (default DefaultTokenTTL).
func WithTokenTTL(d time.Duration) TokenOption { return func(t *Tokens) { t.ttl = d } }

// WithIssuer sets the iss claim issued and required (default DefaultIssuer).
func WithIssuer(iss string) TokenOption { return func(t *Tokens) { t.issuer = iss } }

// WithTokenClock sets the clock tokens are issued and checked against.
func WithTokenClock(now func() time.Time) TokenOption { return func(t *Tokens) { t.now = now } }

// WithVerifiedTokens sets how many verified tokens Verify remembers, so that
// a user's later calls skip the signature and claims parsing (expiry is
// still checked on every call); 0 verifies every call in full. Default
// DefaultVerifiedTokens.
func WithVerifiedTokens(n int) TokenOption { return func(t *Tokens) { t.cached = n } }

// NewTokens signs with keys[0] and verifies with any of keys. Every secret
// must be at least MinSecretBytes long and every id distinct.
func NewTokens(keys []SigningKey, opts ...TokenOption) (*Tokens, error) {
	if len(keys) == 0 {
		return nil, errors.New("session tokens: no signing keys")
	}
	t := &Tokens{signer: keys[0], keys: make(map[string][]byte, len(keys)),
		ttl: DefaultTokenTTL, issuer: DefaultIssuer, now: time.Now, cached: DefaultVerifiedTokens}
	for _, k := range keys {
		if k.ID == "" {
			return nil, errors.New("session tokens: a signing key has no id")
		}
		if len(k.Secret) < MinSecretBytes {
			return nil, fmt.Errorf("session tokens: key %s is %d bytes, want at least %d", k.ID, len(k.Secret), MinSecretBytes)
		}
		if _, dup := t.keys[k.ID]; dup {
			return nil, fmt.Errorf("session tokens: key id %s appears twice", k.ID)
		}
		t.keys[k.ID] = k.Secret
	}
	for _, o := range opts {
		o(t)
	}
	t.seen = newVerifiedTokens(t.cached)
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(func() time.Time { return t.now() }),
	)
	return t, nil
}

// sessionClaims are a session token's claims: the registered ones and, when
// the server knows it, the account's creation time (Unix ms), so Track can
// stamp acct_created on every event without a lookup.
type sessionClaims struct {
	jwt.RegisteredClaims
	AccountCreated int64 `json:"acct_created,omitempty"`
}

// Issue signs a token for userID that expires after the TTL.
func (t *Tokens) Issue(userID string) (token string, expires time.Time, err error) {
	return t.IssueAccount(userID, time.Time{})
}

// IssueAccount signs a token for userID that expires after the TTL and
// carries the account's creation time (when tide first saw the user; zero
// when unknown), which Verify returns as Principal.AccountCreated.
func (t *Tokens) IssueAccount(userID string, created time.Time) (token string, expires time.Time, err error) {
	if userID == "" {
		return "", time.Time{}, errors.New("session token: empty user id")
	}
	now := t.now().Truncate(time.Second)
	expires = now.Add(t.ttl)
	claims := sessionClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    t.issuer,
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(expires),
	}}
	if !created.IsZero() {
		claims.AccountCreated = created.UnixMilli()
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = t.signer.ID
	s, err := tok.SignedString(t.signer.Secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("session token: %w", err)
	}
	return s, expires, nil
}

// Verify checks token's signature, key id, issuer and expiry and returns the
// user it was issued to. Every failure wraps ErrInvalidToken; an expired
// token also wraps jwt.ErrTokenExpired. A token verified before (the very
// same string) is not parsed again, but its expiry and issue time are
// checked against the clock as on the first call.
func (t *Tokens) Verify(token string) (Principal, error) {
	if t.seen == nil {
		p, _, err := t.verify(token)
		return p, err
	}
	if v, ok := t.seen.get(token); ok {
		now := t.now()
		if !now.After(v.p.Expires.Add(tokenLeeway)) && !now.Before(v.issuedAt.Add(-tokenLeeway)) {
			return v.p, nil
		}
		t.seen.drop(token) // expired: the full check says so with the right error
	}
	p, iat, err := t.verify(token)
	if err != nil {
		return Principal{}, err
	}
	t.seen.put(token, verifiedToken{p: p, issuedAt: iat})
	return p, nil
}

// verify checks token in full and returns its principal and issue time.
func (t *Tokens) verify(token string) (Principal, time.Time, error) {
	var claims sessionClaims
	_, err := t.parser.ParseWithClaims(token, &claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		secret, ok := t.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return secret, nil
	})
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if !strings.HasPrefix(claims.Subject, userIDPrefix) {
		return Principal{}, time.Time{}, fmt.Errorf("%w: subject is not a user id", ErrInvalidToken)
	}
	p := Principal{Role: RoleUser, UserID: claims.Subject, Expires: claims.ExpiresAt.Time}
	if claims.AccountCreated > 0 {
		p.AccountCreated = time.UnixMilli(claims.AccountCreated).UTC()
	}
	var iat time.Time
	if claims.IssuedAt != nil {
		iat = claims.IssuedAt.Time
	}
	return p, iat, nil
}

// userIDEncoding is lower-case base32 without padding: ids stay short,
// case-insensitive and safe in URLs, logs and ClickHouse.
var userIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// UserIDFromOpenID derives tide's user id from a WeChat openid: "u_" and 24
// base32 characters of SHA-256 over the app id and the openid. It is stable
// for a user of one mini-program, the same on every replica, and does not
// reveal the openid (which stays between WeChat and this server).
func UserIDFromOpenID(appID, openID string) string {
	h := sha256.Sum256([]byte("tide.user.v1\x00" + appID + "\x00" + openID))
	return userIDPrefix + userIDEncoding.EncodeToString(h[:15])
}
