package checkout_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/checkout"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/wechatpay"
	"github.com/tide-live/tide/commerce/wxship"
	"github.com/tide-live/tide/commerce/wxship/wxshiptest"
)

// shipWorld is a world with WeChat's shipping API faked and an uploader
// that retries at once (backoff 0), so each Upload call is one try.
type shipWorld struct {
	*world
	wx      *wxshiptest.Server
	uploads *checkout.ShippingUploads
}

func newShipWorld(t *testing.T, opts ...checkout.ShippingOption) *shipWorld {
	t.Helper()
	w := newWorld(t)
	fake := wxshiptest.NewServer(t)
	c, err := wxship.New(fake.Config())
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]checkout.ShippingOption{checkout.WithUploadBackoff(func(int) time.Duration { return 0 })}, opts...)
	return &shipWorld{world: w, wx: fake, uploads: checkout.NewShippingUploads(w.orders, c, "1900000109", slog.New(slog.DiscardHandler), opts...)}
}

// paid submits and pays an order of user through WeChat Pay.
func (w *shipWorld) paid(t *testing.T, user string) order.Order {
	t.Helper()
	o := w.submit(t, user, "k-"+user)
	if _, err := w.payments.Pay(context.Background(), user, o.ID, "openid-"+user, "直播爆款"); err != nil {
		t.Fatal(err)
	}
	body, err := w.fake.Pay(o.ID + "_1")
	if err != nil {
		t.Fatal(err)
	}
	if code := w.deliver(t, w.notify.Payment(), body); code != http.StatusOK {
		t.Fatalf("notify: %d", code)
	}
	return w.order(t, o.ID)
}

func (w *shipWorld) shipment(t *testing.T, id string) commerce.ShipmentRecord {
	t.Helper()
	s, ok, err := w.orders.Shipment(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("shipment of %s: %v %v", id, ok, err)
	}
	return s
}

func (w *shipWorld) upload(t *testing.T) int {
	t.Helper()
	n, err := w.uploads.Upload(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A WeChat outage neither blocks nor fails the merchant's Ship; the upload
// is retried until WeChat accepts it, in WeChat's format, once.
func TestShipUploadsThroughAnOutage(t *testing.T) {
	w := newShipWorld(t)
	ctx := context.Background()
	o := w.paid(t, "u1")
	w.wx.SetOutage(true)
	if err := w.orders.Ship(ctx, "m1", o.ID, commerce.Shipment{ExpressCompany: "yto", TrackingNo: "YT9001"}); err != nil {
		t.Fatalf("ship during a WeChat outage: %v", err)
	}
	if got := w.order(t, o.ID); got.Fulfil != order.Shipped || got.TrackingNo != "YT9001" {
		t.Fatalf("order after ship: %s %q", got.Fulfil, got.TrackingNo)
	}
	for range 2 {
		if n := w.upload(t); n != 0 {
			t.Fatalf("%d accepted during the outage", n)
		}
	}
	s := w.shipment(t, o.ID)
	if s.UploadState != commerce.UploadPending || s.UploadTries != 2 || !strings.Contains(s.UploadError, "503") {
		t.Fatalf("during the outage: %+v", s)
	}

	w.wx.SetOutage(false)
	if n := w.upload(t); n != 1 {
		t.Fatalf("%d accepted after the outage, want 1", n)
	}
	if n := w.upload(t); n != 0 {
		t.Fatalf("an uploaded shipment was sent again (%d)", n)
	}
	s = w.shipment(t, o.ID)
	if s.UploadState != commerce.Uploaded || s.UploadError != "" || s.UploadedAt.IsZero() {
		t.Fatalf("after the upload: %+v", s)
	}
	us := w.wx.Uploads()
	if len(us) != 1 {
		t.Fatalf("%d uploads reached WeChat, want 1", len(us))
	}
	var txID string
	if err := w.store.Pool().QueryRow(ctx, `SELECT transaction_id FROM payment_attempts WHERE order_id = $1 AND state = 'paid'`, o.ID).Scan(&txID); err != nil {
		t.Fatal(err)
	}
	u := us[0]
	if u.OrderKey.OrderNumberType != 2 || u.OrderKey.TransactionID != txID || txID == "" || u.Payer.OpenID != "openid-u1" ||
		u.ShippingList[0].ExpressCompany != "YTO" || u.ShippingList[0].TrackingNo != "YT9001" || u.ShippingList[0].ItemDesc != "直播爆款×2" {
		t.Fatalf("upload %+v (transaction %s)", u, txID)
	}
	if at, err := time.Parse(time.RFC3339, u.UploadTime); err != nil || !at.Equal(s.ShippedAt.Truncate(time.Millisecond)) {
		t.Fatalf("upload_time %s, shipped at %s", u.UploadTime, s.ShippedAt)
	}
}

// WeChat busy (-1) and an expired token (42001) are retried; the token is
// refreshed.
func TestShipUploadRetriesBusyAndExpiredToken(t *testing.T) {
	w := newShipWorld(t)
	ctx := context.Background()
	a, b := w.paid(t, "u1"), w.paid(t, "u2")
	if err := w.orders.Ship(ctx, "m1", a.ID, commerce.Shipment{ExpressCompany: "ZTO", TrackingNo: "ZT1"}); err != nil {
		t.Fatal(err)
	}
	w.wx.FailNext(-1)
	if n := w.upload(t); n != 0 {
		t.Fatalf("%d accepted while WeChat was busy", n)
	}
	if s := w.shipment(t, a.ID); s.UploadState != commerce.UploadPending || !strings.Contains(s.UploadError, "-1") {
		t.Fatalf("after busy: %+v", s)
	}
	if n := w.upload(t); n != 1 {
		t.Fatalf("%d accepted after busy, want 1", n)
	}
	w.wx.ExpireToken()
	if err := w.orders.Ship(ctx, "m1", b.ID, commerce.Shipment{Logistics: commerce.SelfPickup}); err != nil {
		t.Fatal(err)
	}
	if n := w.upload(t); n != 1 {
		t.Fatalf("%d accepted with an expired token, want 1 (refreshed)", n)
	}
	us := w.wx.Uploads()
	if len(us) != 2 || us[1].LogisticsType != 4 || us[1].Token == us[0].Token || w.wx.TokensIssued() != 2 {
		t.Fatalf("uploads %+v, %d tokens issued", us, w.wx.TokensIssued())
	}
}

// A refusal the merchant must fix is recorded on the order and not
// retried; shipping again with the fix uploads anew.
func TestShipUploadRefusedThenCorrected(t *testing.T) {
	w := newShipWorld(t)
	ctx := context.Background()
	o := w.paid(t, "u1")
	if err := w.orders.Ship(ctx, "m1", o.ID, commerce.Shipment{ExpressCompany: "NOSUCH", TrackingNo: "X1"}); err != nil {
		t.Fatal(err)
	}
	if err := w.orders.Ship(ctx, "m1", o.ID, commerce.Shipment{ExpressCompany: "ZTO", TrackingNo: "ZT1"}); !errors.Is(err, postgres.ErrCannotShip) {
		t.Fatalf("re-ship while the upload is pending: %v, want ErrCannotShip", err)
	}
	if n := w.upload(t); n != 0 {
		t.Fatalf("%d accepted with an unknown company", n)
	}
	s := w.shipment(t, o.ID)
	if s.UploadState != commerce.UploadFailed || !strings.Contains(s.UploadError, "47001") || !strings.Contains(s.UploadError, "express_company") {
		t.Fatalf("after the refusal: %+v", s)
	}
	if n := w.upload(t); n != 0 || w.shipment(t, o.ID).UploadTries != 1 {
		t.Fatal("a refused shipment was retried")
	}

	if err := w.orders.Ship(ctx, "m1", o.ID, commerce.Shipment{ExpressCompany: "ZTO", TrackingNo: "ZT1"}); err != nil {
		t.Fatalf("correcting a refused shipment: %v", err)
	}
	if n := w.upload(t); n != 1 {
		t.Fatalf("%d accepted after the fix, want 1", n)
	}
	s = w.shipment(t, o.ID)
	if s.UploadState != commerce.Uploaded || s.ExpressCompany != "ZTO" || w.order(t, o.ID).TrackingNo != "ZT1" {
		t.Fatalf("after the fix: %+v", s)
	}
	if us := w.wx.Uploads(); len(us) != 1 || us[0].ShippingList[0].TrackingNo != "ZT1" {
		t.Fatalf("uploads: %+v", us)
	}
	if n := w.count(t, `SELECT count(*) FROM order_transitions WHERE order_id = $1 AND machine = 'fulfil' AND to_state = 'shipped'`, o.ID); n != 2 {
		t.Fatalf("%d fulfil transitions, want the ship and the correction", n)
	}
	if err := w.orders.Ship(ctx, "m1", o.ID, commerce.Shipment{ExpressCompany: "YTO", TrackingNo: "YT2"}); !errors.Is(err, postgres.ErrCannotShip) {
		t.Fatalf("re-ship of an uploaded shipment: %v, want ErrCannotShip", err)
	}
}

// A transient failure that lasts is given up after the last try, and
// shown; a claim whose worker died is uploaded by the next one.
func TestShipUploadGivesUpAndSurvivesAWorkerDeath(t *testing.T) {
	w := newShipWorld(t, checkout.WithUploadMaxTries(2))
	ctx := context.Background()
	a, b := w.paid(t, "u1"), w.paid(t, "u2")
	if err := w.orders.Ship(ctx, "m1", a.ID, commerce.Shipment{ExpressCompany: "YTO", TrackingNo: "YT1"}); err != nil {
		t.Fatal(err)
	}
	w.wx.FailNext(-1, -1)
	w.upload(t)
	w.upload(t)
	if s := w.shipment(t, a.ID); s.UploadState != commerce.UploadFailed || !strings.Contains(s.UploadError, "gave up after 2 tries") {
		t.Fatalf("after 2 busy tries: %+v", s)
	}

	if err := w.orders.Ship(ctx, "m1", b.ID, commerce.Shipment{ExpressCompany: "YTO", TrackingNo: "YT2"}); err != nil {
		t.Fatal(err)
	}
	// A worker claims it (its lease already over) and dies before uploading.
	if us, err := w.orders.ClaimShipments(ctx, 10, 0); err != nil || len(us) != 1 || us[0].OrderID != b.ID {
		t.Fatalf("claim: %v %v", us, err)
	}
	if n := w.upload(t); n != 1 {
		t.Fatalf("%d accepted after a worker died holding the claim, want 1", n)
	}
	if s := w.shipment(t, b.ID); s.UploadState != commerce.Uploaded || s.UploadTries != 2 {
		t.Fatalf("after the next worker: %+v", s)
	}
}

// An attempt whose payer was not recorded at Pay (prepaid elsewhere, or
// before tide recorded payers) is uploaded with the payer the verified
// notify names.
func TestShipUploadTakesThePayerFromTheNotify(t *testing.T) {
	w := newShipWorld(t)
	ctx := context.Background()
	o := w.submit(t, "u1", "k1")
	a, _, err := w.orders.OpenAttempt(ctx, "u1", o.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := wechatpay.New(w.fake.Config("", ""))
	if _, err := c.Prepay(ctx, wechatpay.Prepay{OutTradeNo: a.OutTradeNo, AmountFen: a.AmountFen, OpenID: "openid-elsewhere", ExpiresAt: a.ExpiresAt}); err != nil {
		t.Fatal(err)
	}
	body, err := w.fake.Pay(a.OutTradeNo)
	if err != nil {
		t.Fatal(err)
	}
	if code := w.deliver(t, w.notify.Payment(), body); code != http.StatusOK {
		t.Fatalf("notify: %d", code)
	}
	var payer string
	if err := w.store.Pool().QueryRow(ctx, `SELECT payer_openid FROM payment_attempts WHERE out_trade_no = $1`, a.OutTradeNo).Scan(&payer); err != nil || payer == "" {
		t.Fatalf("payer after the notify: %q %v", payer, err)
	}
	if err := w.orders.Ship(ctx, "m1", o.ID, commerce.Shipment{Logistics: commerce.Virtual}); err != nil {
		t.Fatal(err)
	}
	if n := w.upload(t); n != 1 {
		t.Fatalf("%d accepted, want 1", n)
	}
	if us := w.wx.Uploads(); len(us) != 1 || us[0].Payer.OpenID != payer || us[0].LogisticsType != 3 {
		t.Fatalf("uploads %+v, want payer %s", us, payer)
	}
}
