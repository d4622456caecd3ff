package wxrisk_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/tide-live/tide/commerce/wxapp"
	"github.com/tide-live/tide/commerce/wxrisk"
	"github.com/tide-live/tide/commerce/wxship/wxshiptest"
)

func newClient(t *testing.T) (*wxrisk.Client, *wxshiptest.Server) {
	t.Helper()
	fake := wxshiptest.NewServer(t)
	app, err := wxapp.New(fake.Config())
	if err != nil {
		t.Fatal(err)
	}
	return wxrisk.New(app), fake
}

var ip = netip.MustParseAddr("203.0.113.7")

func TestRiskRankSendsWhatWeChatDocuments(t *testing.T) {
	c, fake := newClient(t)
	fake.SetRiskRank("o-risky", 4)
	ctx := context.Background()
	r, err := c.RiskRank(ctx, wxrisk.Request{OpenID: "o-risky", Scene: wxrisk.SceneMarketing, ClientIP: ip})
	if err != nil {
		t.Fatal(err)
	}
	if r.Rank != 4 || r.RequestID == 0 {
		t.Fatalf("rank %+v, want 4 with a request id", r)
	}
	if r, err = c.RiskRank(ctx, wxrisk.Request{OpenID: "o-fine", Scene: wxrisk.SceneMarketing, ClientIP: netip.MustParseAddr("::ffff:198.51.100.2")}); err != nil || r.Rank != 0 {
		t.Fatalf("an unranked user: %+v, %v", r, err)
	}
	calls := fake.RiskCalls()
	if len(calls) != 2 {
		t.Fatalf("%d calls", len(calls))
	}
	if c := calls[0]; c.AppID != wxshiptest.AppID || c.OpenID != "o-risky" || *c.Scene != 1 || c.ClientIP != "203.0.113.7" || c.Token == "" {
		t.Errorf("call %+v", c)
	}
	if calls[1].ClientIP != "198.51.100.2" {
		t.Errorf("a mapped IPv4 went as %q, want it unmapped", calls[1].ClientIP)
	}
}

func TestRiskRankRefreshesAnExpiredToken(t *testing.T) {
	c, fake := newClient(t)
	ctx := context.Background()
	req := wxrisk.Request{OpenID: "o-1", Scene: wxrisk.SceneMarketing, ClientIP: ip}
	if _, err := c.RiskRank(ctx, req); err != nil {
		t.Fatal(err)
	}
	fake.ExpireToken()
	if _, err := c.RiskRank(ctx, req); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := fake.TokensIssued(); n != 2 {
		t.Errorf("%d tokens issued, want 2", n)
	}
	if calls := fake.RiskCalls(); len(calls) != 2 || calls[0].Token == calls[1].Token {
		t.Errorf("calls %+v: want the second on a new token", calls)
	}
}

func TestRiskRankErrors(t *testing.T) {
	c, fake := newClient(t)
	ctx := context.Background()
	for _, bad := range []wxrisk.Request{{Scene: 1, ClientIP: ip}, {OpenID: "o", Scene: 7, ClientIP: ip}, {OpenID: "o", Scene: 1}} {
		if _, err := c.RiskRank(ctx, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if n := len(fake.RiskCalls()); n != 0 {
		t.Errorf("bad requests reached WeChat: %d", n)
	}
	fake.SetOutage(true)
	_, err := c.RiskRank(ctx, wxrisk.Request{OpenID: "o", Scene: 1, ClientIP: ip})
	if err == nil {
		t.Fatal("an outage answered a rank")
	}
	var ae *wxapp.APIError
	if errors.As(err, &ae) {
		t.Errorf("an HTTP 503 is not an errcode: %v", ae)
	}
	fake.SetOutage(false)
	if _, err := c.RiskRank(ctx, wxrisk.Request{OpenID: "o", Scene: 1, ClientIP: ip}); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}
