package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func testKey(id string) SigningKey {
	return SigningKey{ID: id, Secret: bytes.Repeat([]byte(id[:1]), MinSecretBytes)}
}

func TestTokensRoundTrip(t *testing.T) {
	now := time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)
	tok, err := NewTokens([]SigningKey{testKey("k1")}, WithTokenTTL(time.Hour), WithTokenClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	s, exp, err := tok.Issue("u_abc")
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(time.Hour)) {
		t.Errorf("expires %v, want %v", exp, now.Add(time.Hour))
	}
	p, err := tok.Verify(s)
	if err != nil {
		t.Fatal(err)
	}
	want := Principal{Role: RoleUser, UserID: "u_abc", Expires: now.Add(time.Hour)}
	if p.Role != want.Role || p.UserID != want.UserID || !p.Expires.Equal(want.Expires) {
		t.Errorf("Verify = %+v, want %+v", p, want)
	}
}

// The token is compact and holds only what it must: no WeChat secrets.
func TestTokenPayload(t *testing.T) {
	tok, _ := NewTokens([]SigningKey{testKey("k1")})
	s, _, err := tok.Issue(UserIDFromOpenID("wxapp", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", s)
	}
	if len(s) > 300 {
		t.Errorf("token is %d bytes, want a compact one", len(s))
	}
	var header, claims map[string]any
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("o6_bmjrPTlm6")) {
			t.Errorf("token part %d reveals the openid: %s", i, raw)
		}
	}
	if header["alg"] != "HS256" || header["kid"] != "k1" {
		t.Errorf("header = %v, want alg HS256 and kid k1", header)
	}
	for k := range claims {
		switch k {
		case "iss", "sub", "iat", "exp":
		default:
			t.Errorf("unexpected claim %q in %v", k, claims)
		}
	}
}

func TestTokenExpired(t *testing.T) {
	now := time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tok, _ := NewTokens([]SigningKey{testKey("k1")}, WithTokenTTL(time.Hour), WithTokenClock(clock))
	s, _, _ := tok.Issue("u_abc")
	now = now.Add(time.Hour + tokenLeeway - time.Second)
	if _, err := tok.Verify(s); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	now = now.Add(2 * time.Second)
	_, err := tok.Verify(s)
	if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("Verify after expiry = %v, want ErrInvalidToken and jwt.ErrTokenExpired", err)
	}
}

func TestTokenRotation(t *testing.T) {
	old, _ := NewTokens([]SigningKey{testKey("k1")})
	s1, _, _ := old.Issue("u_one")
	rotated, _ := NewTokens([]SigningKey{testKey("k2"), testKey("k1")})
	if _, err := rotated.Verify(s1); err != nil {
		t.Errorf("a token of the previous key must still verify: %v", err)
	}
	s2, _, _ := rotated.Issue("u_two")
	if _, err := old.Verify(s2); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("old keyring verified a k2 token: %v", err)
	}
	retired, _ := NewTokens([]SigningKey{testKey("k2")})
	if _, err := retired.Verify(s1); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a token of a retired key verified: %v", err)
	}
	// Same id, another secret: the signature no longer matches.
	forged, _ := NewTokens([]SigningKey{{ID: "k1", Secret: bytes.Repeat([]byte("x"), 32)}})
	s3, _, _ := forged.Issue("u_evil")
	if _, err := old.Verify(s3); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a token signed with the wrong secret verified: %v", err)
	}
}

func TestTokenTamperedAndOtherAlgs(t *testing.T) {
	tok, _ := NewTokens([]SigningKey{testKey("k1")})
	s, _, _ := tok.Issue("u_abc")
	parts := strings.Split(s, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = bytes.Replace(payload, []byte("u_abc"), []byte("u_xyz"), 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]

	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{Issuer: DefaultIssuer, Subject: "u_abc",
		IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))})
	none.Header["kid"] = "k1"
	unsigned, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hs512 := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.RegisteredClaims{Issuer: DefaultIssuer, Subject: "u_abc",
		IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))})
	hs512.Header["kid"] = "k1"
	other, _ := hs512.SignedString(testKey("k1").Secret)
	noExp := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: DefaultIssuer, Subject: "u_abc"})
	noExp.Header["kid"] = "k1"
	forever, _ := noExp.SignedString(testKey("k1").Secret)
	notUser := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: DefaultIssuer, Subject: "m1",
		IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))})
	notUser.Header["kid"] = "k1"
	merchant, _ := notUser.SignedString(testKey("k1").Secret)

	for name, s := range map[string]string{"tampered": tampered, "alg none": unsigned, "HS512": other,
		"no exp": forever, "non-user subject": merchant, "garbage": "not.a.token", "empty": ""} {
		if p, err := tok.Verify(s); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Verify = %+v, %v; want ErrInvalidToken", name, p, err)
		}
	}
}

func TestNewTokensRejectsWeakKeys(t *testing.T) {
	for name, keys := range map[string][]SigningKey{
		"none":      nil,
		"short":     {{ID: "k1", Secret: []byte("short")}},
		"no id":     {{Secret: bytes.Repeat([]byte("a"), 32)}},
		"duplicate": {testKey("k1"), testKey("k1")},
	} {
		if _, err := NewTokens(keys); err == nil {
			t.Errorf("%s: NewTokens accepted %v", name, keys)
		}
	}
}

func TestParseSigningKeys(t *testing.T) {
	secret := bytes.Repeat([]byte{0xfb}, 32)
	in := "k2:" + base64.StdEncoding.EncodeToString(secret) + ", k1:" + base64.RawURLEncoding.EncodeToString(secret)
	keys, err := ParseSigningKeys(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != "k2" || keys[1].ID != "k1" || !bytes.Equal(keys[0].Secret, secret) || !bytes.Equal(keys[1].Secret, secret) {
		t.Fatalf("ParseSigningKeys = %+v", keys)
	}
	for _, bad := range []string{"", "nocolon", ":abc", "k1:!!!"} {
		if _, err := ParseSigningKeys(bad); err == nil {
			t.Errorf("ParseSigningKeys(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "!!!") {
			t.Errorf("error reveals the secret: %v", err)
		}
	}
}

func TestUserIDFromOpenID(t *testing.T) {
	a := UserIDFromOpenID("wx1", "openid-1")
	if a != UserIDFromOpenID("wx1", "openid-1") {
		t.Error("user id is not stable")
	}
	if a == UserIDFromOpenID("wx1", "openid-2") || a == UserIDFromOpenID("wx2", "openid-1") {
		t.Error("different users or apps share a user id")
	}
	if !strings.HasPrefix(a, "u_") || len(a) != 26 || strings.Contains(a, "openid") {
		t.Errorf("user id %q: want u_ and 24 base32 characters", a)
	}
}
