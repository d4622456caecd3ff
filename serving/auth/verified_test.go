package auth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A remembered token still expires on time, and a token that differs from
// a remembered one in any part is verified in full and refused.
func TestVerifiedTokenStillChecked(t *testing.T) {
	now := time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)
	tok, _ := NewTokens([]SigningKey{testKey("k1")}, WithTokenTTL(time.Hour), WithTokenClock(func() time.Time { return now }))
	s, _, _ := tok.Issue("u_abc")
	for range 2 {
		if p, err := tok.Verify(s); err != nil || p.UserID != "u_abc" {
			t.Fatalf("Verify = %+v, %v", p, err)
		}
	}
	if tok.seen.len() != 1 {
		t.Fatalf("%d tokens remembered, want 1", tok.seen.len())
	}
	parts := strings.Split(s, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = bytes.Replace(payload, []byte("u_abc"), []byte("u_xyz"), 1)
	sig := []byte(parts[2])
	sig[0] ^= 1
	for name, bad := range map[string]string{
		"tampered payload":   parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2],
		"tampered signature": parts[0] + "." + parts[1] + "." + string(sig),
		"prefix":             s[:len(s)-1],
		"suffix":             s + "A",
	} {
		if p, err := tok.Verify(bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Verify = %+v, %v; want ErrInvalidToken", name, p, err)
		}
	}
	now = now.Add(time.Hour + tokenLeeway + time.Second)
	if _, err := tok.Verify(s); !errors.Is(err, ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("remembered token after expiry: %v, want ErrInvalidToken and jwt.ErrTokenExpired", err)
	}
	if tok.seen.len() != 0 {
		t.Errorf("the expired token is still remembered")
	}
}

// A clock that goes back before a remembered token's issue time refuses it
// as the full check does.
func TestVerifiedTokenIssuedLater(t *testing.T) {
	now := time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)
	tok, _ := NewTokens([]SigningKey{testKey("k1")}, WithTokenClock(func() time.Time { return now }))
	s, _, _ := tok.Issue("u_abc")
	if _, err := tok.Verify(s); err != nil {
		t.Fatal(err)
	}
	now = now.Add(-time.Hour)
	if _, err := tok.Verify(s); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token used before its issue time: %v, want ErrInvalidToken", err)
	}
}

// The memory of verified tokens stays within its bound, and the most
// recently used ones are kept.
func TestVerifiedTokensBounded(t *testing.T) {
	const max = 10
	tok, _ := NewTokens([]SigningKey{testKey("k1")}, WithVerifiedTokens(max))
	hot, _, _ := tok.Issue("u_hot")
	for i := range 100 {
		s, _, _ := tok.Issue(fmt.Sprintf("u_%d", i))
		if _, err := tok.Verify(s); err != nil {
			t.Fatal(err)
		}
		if _, err := tok.Verify(hot); err != nil {
			t.Fatal(err)
		}
		if n := tok.seen.len(); n > max {
			t.Fatalf("%d tokens remembered, bound %d", n, max)
		}
	}
	if _, ok := tok.seen.get(hot); !ok {
		t.Error("the token used on every call was dropped")
	}
}

// Tokens in use that fit in the bound stay remembered however long they
// are used, and their hits are in the current generation (read lock only):
// the cache does not keep rotating them out and verifying them again.
func TestVerifiedTokensKeepWorkingSet(t *testing.T) {
	const max, inUse = 10, 8
	tok, _ := NewTokens([]SigningKey{testKey("k1")}, WithVerifiedTokens(max))
	for i := range max { // tokens used once, long ago
		s, _, _ := tok.Issue(fmt.Sprintf("u_old%d", i))
		if _, err := tok.Verify(s); err != nil {
			t.Fatal(err)
		}
	}
	var set []string
	for i := range inUse {
		s, _, _ := tok.Issue(fmt.Sprintf("u_%d", i))
		set = append(set, s)
	}
	for range 50 {
		for _, s := range set {
			if _, err := tok.Verify(s); err != nil {
				t.Fatal(err)
			}
		}
		if n := tok.seen.len(); n > max {
			t.Fatalf("%d tokens remembered, bound %d", n, max)
		}
	}
	for i, s := range set {
		if _, ok := tok.seen.cur[s]; !ok {
			t.Errorf("token %d of the %d in use is not in the current generation", i, inUse)
		}
	}
}

// WithVerifiedTokens(0) checks every call in full.
func TestVerifiedTokensOff(t *testing.T) {
	tok, _ := NewTokens([]SigningKey{testKey("k1")}, WithVerifiedTokens(0))
	s, _, _ := tok.Issue("u_abc")
	if p, err := tok.Verify(s); err != nil || p.UserID != "u_abc" {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	if tok.seen != nil {
		t.Error("tokens remembered with WithVerifiedTokens(0)")
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{0, DefaultVerifiedTokens} {
		b.Run(fmt.Sprintf("remember=%d", n), func(b *testing.B) {
			tok, _ := NewTokens([]SigningKey{testKey("k1")}, WithVerifiedTokens(n))
			s, _, _ := tok.Issue("u_abc")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tok.Verify(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
