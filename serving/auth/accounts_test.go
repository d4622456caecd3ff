package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
)

// The first sighting of a user sticks: later calls return it, whatever
// their clock says.
func TestPGAccountsFirstSeen(t *testing.T) {
	_, pool := pgKeys(t)
	acc := NewPGAccounts(pool)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	got, err := acc.FirstSeen(ctx, "u_a", "o_a1", t0)
	if err != nil || !got.Equal(t0) {
		t.Fatalf("first FirstSeen = %v, %v; want %v", got, err, t0)
	}
	if got, err := acc.FirstSeen(ctx, "u_a", "", t0.Add(48*time.Hour)); err != nil || !got.Equal(t0) {
		t.Errorf("returning user FirstSeen = %v, %v; want the first %v", got, err, t0)
	}
	if got, err := acc.FirstSeen(ctx, "u_b", "o_b", t0.Add(time.Hour)); err != nil || !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("another user = %v, %v", got, err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM auth_accounts`).Scan(&n); err != nil || n != 2 {
		t.Errorf("auth_accounts rows = %d, %v; want 2", n, err)
	}
	if _, err := acc.FirstSeen(ctx, "", "o_x", t0); err == nil {
		t.Error("empty user id accepted")
	}
	// The openid: kept through a login that names none, replaced by a new one.
	if id, ok, err := acc.OpenID(ctx, "u_a"); err != nil || !ok || id != "o_a1" {
		t.Errorf("OpenID(u_a) = %q, %v, %v; want o_a1", id, ok, err)
	}
	if _, err := acc.FirstSeen(ctx, "u_a", "o_a2", t0.Add(72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if id, _, _ := acc.OpenID(ctx, "u_a"); id != "o_a2" {
		t.Errorf("OpenID(u_a) after a new login = %q, want o_a2", id)
	}
	if id, ok, err := acc.OpenID(ctx, "u_never"); err != nil || ok || id != "" {
		t.Errorf("OpenID of a user never seen = %q, %v, %v; want not ok", id, ok, err)
	}
}

// memAccounts is Accounts in memory, for Login tests without PostgreSQL.
type memAccounts map[string]time.Time

func (m memAccounts) FirstSeen(_ context.Context, id, _ string, now time.Time) (time.Time, error) {
	if t, ok := m[id]; ok {
		return t, nil
	}
	m[id] = now
	return now, nil
}

// Login puts the first sighting in the token; a second Login days later
// still carries the first one, and Verify returns it.
func TestLoginCarriesAccountCreated(t *testing.T) {
	fake, _ := fakeWeChat(t)
	tokens, err := NewTokens([]SigningKey{testKey("k1")})
	if err != nil {
		t.Fatal(err)
	}
	first := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Millisecond)
	clock := first
	svc := NewService(NewWeChat(testAppID, testSecret, WithWeChatBaseURL(fake.URL)), testAppID, tokens,
		WithAccounts(memAccounts{}), WithServiceClock(func() time.Time { return clock }))
	mux := http.NewServeMux()
	mux.Handle(svc.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := tidev1connect.NewAuthServiceClient(srv.Client(), srv.URL)
	ctx := context.Background()
	for i := range 2 {
		res, err := c.Login(ctx, connect.NewRequest(&tidev1.LoginRequest{Code: "good-dora"}))
		if err != nil {
			t.Fatal(err)
		}
		p, err := tokens.Verify(res.Msg.Token)
		if err != nil {
			t.Fatal(err)
		}
		if !p.AccountCreated.Equal(first) {
			t.Errorf("login %d: AccountCreated = %v, want the first sighting %v", i, p.AccountCreated, first)
		}
		clock = first.Add(72 * time.Hour)
	}
	// Without Accounts the token carries nothing.
	tok, _, _ := tokens.Issue("u_x")
	if p, err := tokens.Verify(tok); err != nil || !p.AccountCreated.IsZero() {
		t.Errorf("plain Issue: %+v, %v; want no AccountCreated", p, err)
	}
}

// Login keeps the openid WeChat named the user by, for the server APIs that
// need it (the risk rank) before the user has paid.
func TestLoginKeepsOpenID(t *testing.T) {
	fake, _ := fakeWeChat(t)
	_, pool := pgKeys(t)
	acc := NewPGAccounts(pool)
	tokens, err := NewTokens([]SigningKey{testKey("k1")})
	if err != nil {
		t.Fatal(err)
	}
	svc := NewService(NewWeChat(testAppID, testSecret, WithWeChatBaseURL(fake.URL)), testAppID, tokens, WithAccounts(acc))
	mux := http.NewServeMux()
	mux.Handle(svc.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := tidev1connect.NewAuthServiceClient(srv.Client(), srv.URL)
	res, err := c.Login(context.Background(), connect.NewRequest(&tidev1.LoginRequest{Code: "good-erin"}))
	if err != nil {
		t.Fatal(err)
	}
	id, ok, err := acc.OpenID(context.Background(), res.Msg.GetUserId())
	if err != nil || !ok || id != "openid-erin" {
		t.Fatalf("OpenID after Login = %q, %v, %v; want openid-erin", id, ok, err)
	}
}
