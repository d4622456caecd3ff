package wxapp_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce/wxapp"
	"github.com/tide-live/tide/commerce/wxrisk"
	"github.com/tide-live/tide/commerce/wxship"
	"github.com/tide-live/tide/commerce/wxship/wxshiptest"
)

// The shipping upload and the risk rank over one Client share its token.
func TestServicesShareOneToken(t *testing.T) {
	fake := wxshiptest.NewServer(t)
	app, err := wxapp.New(fake.Config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ship, risk := wxship.Over(app), wxrisk.New(app)
	if err := ship.Upload(ctx, wxship.Shipping{TransactionID: "4200001", Logistics: wxship.Virtual, ItemDesc: "会员卡",
		PayerOpenID: "o-1", UploadTime: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := risk.RiskRank(ctx, wxrisk.Request{OpenID: "o-1", Scene: wxrisk.SceneMarketing, ClientIP: netip.MustParseAddr("203.0.113.1")}); err != nil {
		t.Fatal(err)
	}
	if n := fake.TokensIssued(); n != 1 {
		t.Errorf("%d tokens issued for two services, want 1", n)
	}
	// A token another process revoked (40001) is replaced once, for both.
	fake.RevokeToken()
	if _, err := risk.RiskRank(ctx, wxrisk.Request{OpenID: "o-1", Scene: wxrisk.SceneMarketing, ClientIP: netip.MustParseAddr("203.0.113.1")}); err != nil {
		t.Fatalf("after a revoke: %v", err)
	}
	calls := fake.RiskCalls()
	if n := fake.TokensIssued(); n != 2 || len(calls) != 2 || calls[1].Token == fake.Uploads()[0].Token {
		t.Errorf("%d tokens issued after a revoke, want 2, the second call on the new one", n)
	}
}

func TestBadCredentials(t *testing.T) {
	if _, err := wxapp.New(wxapp.Config{AppID: "wx1"}); err == nil {
		t.Error("no secret accepted")
	}
	fake := wxshiptest.NewServer(t)
	cfg := fake.Config()
	cfg.Secret = "wrong"
	app, err := wxapp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = app.Call(context.Background(), "/wxa/getuserriskrank", map[string]any{}, nil)
	var ae *wxapp.APIError
	if !errors.As(err, &ae) || ae.Code != 40013 || ae.Transient() || wxapp.TokenRejected(err) {
		t.Fatalf("a wrong secret: %v, want errcode 40013, not transient", err)
	}
}
