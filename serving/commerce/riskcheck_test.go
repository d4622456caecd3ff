package commerce_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/wxapp"
	"github.com/tide-live/tide/commerce/wxrisk"
	"github.com/tide-live/tide/commerce/wxship/wxshiptest"
	"github.com/tide-live/tide/features/fraud"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	servingcommerce "github.com/tide-live/tide/serving/commerce"
	"github.com/tide-live/tide/serving/commerce/riskgate"
)

// riskRig is a checkout whose Submit asks the WeChat fake for risk ranks,
// finding buyers' openids where Pay recorded them.
type riskRig struct {
	*rig
	wx     *wxshiptest.Server
	checks *prometheus.Registry
	mu     sync.Mutex
	flags  []fraud.Flag
}

func newRiskRig(t *testing.T) *riskRig {
	t.Helper()
	rr := &riskRig{wx: wxshiptest.NewServer(t), checks: prometheus.NewRegistry()}
	app, err := wxapp.New(rr.wx.Config())
	if err != nil {
		t.Fatal(err)
	}
	gate, err := riskgate.New(wxrisk.New(app), func(ctx context.Context, userID string) (string, bool, error) {
		return rr.orders.PayerOpenID(ctx, userID)
	}, riskgate.WithFlags(func(f fraud.Flag) {
		rr.mu.Lock()
		defer rr.mu.Unlock()
		rr.flags = append(rr.flags, f)
	}), riskgate.WithRegisterer(rr.checks), riskgate.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	rr.rig = newRig(t, servingcommerce.WithRiskGate(gate))
	ctx := context.Background()
	if _, err := rr.store.Pool().Exec(ctx, `UPDATE skus SET stock = 100 WHERE id = 'p1-a'`); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := rr.store.CreateFlashSale(ctx, commerce.FlashSale{ID: "fs", MerchantID: "m1", SKUID: "p1-a", PriceFen: 990,
		StartsAt: now.Add(-time.Second), EndsAt: now.Add(time.Hour), Allotment: 50, PerUserLimit: 5}); err != nil {
		t.Fatal(err)
	}
	return rr
}

var oneTee = []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 1}}

// payPlain submits and pays for (prepays) a plain order as u, so tide knows
// u's openid ("openid-" + u + "c1", the rig's login codes).
func (rr *riskRig) payPlain(t *testing.T, u string) {
	t.Helper()
	ctx := context.Background()
	sub, err := rr.client.Submit(ctx, user(u, &tidev1.SubmitRequest{Items: oneTee, IdempotencyKey: "plain-" + u}))
	if err != nil {
		t.Fatalf("%s plain order: %v", u, err)
	}
	if _, err := rr.client.Pay(ctx, user(u, &tidev1.PayRequest{OrderId: sub.Msg.GetOrder().GetId(), LoginCode: "c1"})); err != nil {
		t.Fatalf("%s pay: %v", u, err)
	}
}

func (rr *riskRig) flash(u, key string) (*connect.Response[tidev1.SubmitResponse], error) {
	return rr.client.Submit(context.Background(), user(u, &tidev1.SubmitRequest{Items: oneTee, FlashSaleId: "fs", IdempotencyKey: key}))
}

func (rr *riskRig) outcome(o string) float64 {
	mfs, _ := rr.checks.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == o {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func (rr *riskRig) flashOrders(t *testing.T, u string) int {
	t.Helper()
	var n int
	if err := rr.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM orders WHERE flash_sale_id = 'fs' AND user_id = $1`, u).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRiskGateAtFlashSale: a buyer WeChat ranks 4 is refused at a flash
// sale (and flagged), once asked and then answered from the cache; a buyer
// ranked 1 buys; a plain order never asks WeChat.
func TestRiskGateAtFlashSale(t *testing.T) {
	rr := newRiskRig(t)
	rr.payPlain(t, "u1")
	rr.payPlain(t, "u2")
	if n := len(rr.wx.RiskCalls()); n != 0 {
		t.Fatalf("plain orders asked WeChat %d times", n)
	}
	rr.wx.SetRiskRank("openid-u1c1", 4)
	rr.wx.SetRiskRank("openid-u2c1", 1)

	_, err := rr.flash("u1", "fs-1")
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodePermissionDenied || ce.Message() != riskgate.Message {
		t.Fatalf("rank 4 at a flash sale: %v, want permission_denied %q", err, riskgate.Message)
	}
	calls := rr.wx.RiskCalls()
	if len(calls) != 1 || calls[0].OpenID != "openid-u1c1" || *calls[0].Scene != 1 || calls[0].ClientIP != "127.0.0.1" {
		t.Fatalf("risk calls %+v, want one for u1's openid, scene 1, the client's IP", calls)
	}
	if _, err := rr.flash("u1", "fs-2"); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("rank 4 again: %v", err)
	}
	if n := len(rr.wx.RiskCalls()); n != 1 {
		t.Errorf("the cached rank asked WeChat again: %d calls", n)
	}
	if n := rr.flashOrders(t, "u1"); n != 0 {
		t.Errorf("a refused buyer has %d flash orders", n)
	}
	rr.mu.Lock()
	flags := append([]fraud.Flag(nil), rr.flags...)
	rr.mu.Unlock()
	if len(flags) != 2 || flags[0].Kind != fraud.KindUser || flags[0].ID != "u1" || flags[0].Rule != fraud.RuleWeChatRiskRank || flags[0].Measure != 4 {
		t.Fatalf("flags %+v, want two R7 flags of u1 at rank 4", flags)
	}

	res, err := rr.flash("u2", "fs-3")
	if err != nil || !res.Msg.GetCreated() || res.Msg.GetOrder().GetPayFen() != 990 {
		t.Fatalf("rank 1 at a flash sale: %v %v", res, err)
	}
	if rr.outcome("refused") != 2 || rr.outcome("allowed") != 1 {
		t.Errorf("counted refused %v, allowed %v; want 2, 1", rr.outcome("refused"), rr.outcome("allowed"))
	}
	if n := len(rr.wx.RiskCalls()); n != 2 {
		t.Errorf("%d risk calls, want 2", n)
	}
}

// TestRiskGateFailsOpen: WeChat down, WeChat slower than the timeout, and
// a buyer whose openid tide does not know all get their order, counted.
func TestRiskGateFailsOpen(t *testing.T) {
	rr := newRiskRig(t)
	rr.payPlain(t, "u1")
	rr.payPlain(t, "u2")
	rr.wx.SetRiskRank("openid-u1c1", 4)
	rr.wx.SetRiskRank("openid-u2c1", 4)

	rr.wx.SetOutage(true)
	if _, err := rr.flash("u1", "down-1"); err != nil {
		t.Fatalf("WeChat down: %v, want the order through", err)
	}
	rr.wx.SetOutage(false)
	rr.wx.SetRiskDelay(2 * time.Second)
	if _, err := rr.flash("u2", "slow-1"); err != nil {
		t.Fatalf("WeChat slow: %v, want the order through", err)
	}
	if rr.flashOrders(t, "u1") != 1 || rr.flashOrders(t, "u2") != 1 {
		t.Error("a failed-open order was not placed")
	}
	if n := rr.outcome("failed_open"); n != 2 {
		t.Errorf("failed_open counted %v, want 2", n)
	}
	rr.wx.SetRiskDelay(0)
	// u3 never paid: tide knows no openid, WeChat is not asked.
	sub, err := rr.client.Submit(context.Background(), user("u1", &tidev1.SubmitRequest{Items: oneTee, CouponId: "c95", IdempotencyKey: "coupon-1"}))
	if err != nil || sub.Msg.GetOrder().GetDiscountFen() == 0 {
		t.Fatalf("u1's coupon order within the failure's retry window: %v %v", sub, err)
	}
	if _, err := rr.flash("u3", "anon-1"); err != nil {
		t.Fatalf("no openid: %v", err)
	}
	if rr.outcome("no_openid") != 1 || len(rr.wx.RiskCalls()) != 0 {
		t.Errorf("no_openid %v, risk calls %d; want 1, 0", rr.outcome("no_openid"), len(rr.wx.RiskCalls()))
	}
}
