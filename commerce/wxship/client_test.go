package wxship_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce/wxship"
	"github.com/tide-live/tide/commerce/wxship/wxshiptest"
)

func shipping() wxship.Shipping {
	return wxship.Shipping{TransactionID: "4200001", Logistics: wxship.Express, TrackingNo: "YT123", ExpressCompany: "YTO",
		ItemDesc: "T恤×2", PayerOpenID: "openid-1", UploadTime: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
}

func newClient(t *testing.T) (*wxship.Client, *wxshiptest.Server) {
	t.Helper()
	fake := wxshiptest.NewServer(t)
	c, err := wxship.New(fake.Config())
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

func TestUploadSendsWeChatsFormat(t *testing.T) {
	c, fake := newClient(t)
	ctx := context.Background()
	if err := c.Upload(ctx, shipping()); err != nil {
		t.Fatal(err)
	}
	sf := shipping()
	sf.TransactionID, sf.MchID, sf.OutTradeNo = "", "1900000109", "o1_1"
	sf.ExpressCompany, sf.ReceiverContact = "SF", "139****2901"
	if err := c.Upload(ctx, sf); err != nil {
		t.Fatal(err)
	}
	us := fake.Uploads()
	if len(us) != 2 {
		t.Fatalf("%d uploads accepted, want 2", len(us))
	}
	u := us[0]
	if u.OrderKey.OrderNumberType != 2 || u.OrderKey.TransactionID != "4200001" || u.LogisticsType != 1 || u.DeliveryMode != 1 ||
		u.ShippingList[0].TrackingNo != "YT123" || u.ShippingList[0].ExpressCompany != "YTO" || u.Payer.OpenID != "openid-1" {
		t.Errorf("upload: %+v", u)
	}
	if u.UploadTime != "2026-12-03T18:00:00.000+08:00" {
		t.Errorf("upload_time %q", u.UploadTime)
	}
	if k := us[1].OrderKey; k.OrderNumberType != 1 || k.MchID != "1900000109" || k.OutTradeNo != "o1_1" || us[1].ShippingList[0].Contact.ReceiverContact != "139****2901" {
		t.Errorf("SF upload by out_trade_no: %+v", us[1])
	}
	if us[0].Token != us[1].Token || fake.TokensIssued() != 1 {
		t.Errorf("tokens: %q, %q, %d issued; want one cached token", us[0].Token, us[1].Token, fake.TokensIssued())
	}
}

func TestUploadRefreshesAnExpiredOrRevokedToken(t *testing.T) {
	c, fake := newClient(t)
	ctx := context.Background()
	if err := c.Upload(ctx, shipping()); err != nil {
		t.Fatal(err)
	}
	fake.ExpireToken() // 42001 on the next use
	if err := c.Upload(ctx, shipping()); err != nil {
		t.Fatalf("after the token expired: %v", err)
	}
	fake.RevokeToken() // 40001 on the next use
	if err := c.Upload(ctx, shipping()); err != nil {
		t.Fatalf("after the token was revoked: %v", err)
	}
	us := fake.Uploads()
	if len(us) != 3 || us[1].Token == us[0].Token || us[2].Token == us[1].Token || fake.TokensIssued() != 3 {
		t.Fatalf("uploads %d, tokens %v, %d issued", len(us), us, fake.TokensIssued())
	}
}

func TestUploadErrors(t *testing.T) {
	c, fake := newClient(t)
	ctx := context.Background()

	fake.FailNext(-1)
	err := c.Upload(ctx, shipping())
	var ae *wxship.APIError
	if !errors.As(err, &ae) || ae.Code != -1 || !ae.Transient() || wxship.Permanent(err) {
		t.Errorf("system busy: %v, want a transient APIError", err)
	}

	bad := shipping()
	bad.ExpressCompany = "NOSUCH"
	err = c.Upload(ctx, bad)
	if !errors.As(err, &ae) || ae.Code != 47001 || !wxship.Permanent(err) || !strings.Contains(ae.Msg, "express_company") {
		t.Errorf("unknown company: %v, want a permanent 47001", err)
	}

	fake.SetOutage(true)
	err = c.Upload(ctx, shipping())
	if err == nil || wxship.Permanent(err) {
		t.Errorf("outage: %v, want a retryable error", err)
	}
	fake.SetOutage(false)

	for field, s := range map[string]func(*wxship.Shipping){
		"tracking_no":      func(s *wxship.Shipping) { s.TrackingNo = "" },
		"receiver_contact": func(s *wxship.Shipping) { s.ExpressCompany, s.ReceiverContact = "SF", "13912342901" },
		"item_desc":        func(s *wxship.Shipping) { s.ItemDesc = strings.Repeat("衣", 121) },
		"payer.openid":     func(s *wxship.Shipping) { s.PayerOpenID = "" },
		"order_key":        func(s *wxship.Shipping) { s.TransactionID = "" },
	} {
		sh := shipping()
		s(&sh)
		if err := c.Upload(ctx, sh); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	if n := len(fake.Uploads()); n != 0 {
		t.Errorf("%d bad uploads accepted", n)
	}
}
