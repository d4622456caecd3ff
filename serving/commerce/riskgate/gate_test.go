package riskgate_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce/wxapp"
	"github.com/tide-live/tide/commerce/wxrisk"
	"github.com/tide-live/tide/commerce/wxship/wxshiptest"
	"github.com/tide-live/tide/serving/clientip"
	"github.com/tide-live/tide/serving/commerce/riskgate"
)

// openIDs knows every user's openid: "o-" and the user id.
func openIDs(_ context.Context, userID string) (string, bool, error) { return "o-" + userID, true, nil }

func newGate(t *testing.T, opts ...riskgate.Option) (*riskgate.Gate, *wxshiptest.Server) {
	t.Helper()
	fake := wxshiptest.NewServer(t)
	app, err := wxapp.New(fake.Config())
	if err != nil {
		t.Fatal(err)
	}
	g, err := riskgate.New(wxrisk.New(app), openIDs, append([]riskgate.Option{riskgate.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return g, fake
}

func flashOrder(u string) riskgate.Order {
	return riskgate.Order{UserID: u, FlashSaleID: "fs", PeerAddr: "198.51.100.9:40000"}
}

func TestConcurrentFirstTapsShareOneLookup(t *testing.T) {
	g, fake := newGate(t)
	fake.SetRiskRank("o-u1", 4)
	fake.SetRiskDelay(50 * time.Millisecond) // so the taps overlap
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 20 {
		wg.Go(func() {
			if connect.CodeOf(g.Check(context.Background(), flashOrder("u1"))) == connect.CodePermissionDenied {
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if n := len(fake.RiskCalls()); n != 1 {
		t.Errorf("20 concurrent taps asked WeChat %d times, want 1", n)
	}
	if refused.Load() != 20 {
		t.Errorf("%d of 20 taps refused", refused.Load())
	}
}

func TestClientIPBehindTrustedProxy(t *testing.T) {
	g, fake := newGate(t, riskgate.WithClients(clientip.New(netip.MustParsePrefix("10.0.0.0/8"))))
	h := http.Header{"X-Forwarded-For": {"203.0.113.5, 10.1.2.3"}}
	if err := g.Check(context.Background(), riskgate.Order{UserID: "u1", CouponID: "c1", PeerAddr: "10.9.9.9:1234", Header: h}); err != nil {
		t.Fatal(err)
	}
	// An untrusted peer's X-Forwarded-For is the client's own claim: ignored.
	if err := g.Check(context.Background(), riskgate.Order{UserID: "u2", CouponID: "c1", PeerAddr: "198.51.100.9:1234", Header: h}); err != nil {
		t.Fatal(err)
	}
	calls := fake.RiskCalls()
	if len(calls) != 2 || calls[0].ClientIP != "203.0.113.5" || calls[1].ClientIP != "198.51.100.9" {
		t.Fatalf("calls %+v, want the forwarded client behind the proxy, the peer otherwise", calls)
	}
}

func TestRankIsReusedForTheTTLOnly(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	g, fake := newGate(t, riskgate.WithTTL(5*time.Minute), riskgate.WithThreshold(2), riskgate.WithClock(clock))
	fake.SetRiskRank("o-u1", 2)
	ctx := context.Background()
	if err := g.Check(ctx, flashOrder("u1")); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("rank 2 at threshold 2: %v", err)
	}
	fake.SetRiskRank("o-u1", 0)
	advance(4 * time.Minute)
	if err := g.Check(ctx, flashOrder("u1")); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("within the TTL: %v, want the cached rank", err)
	}
	advance(2 * time.Minute)
	if err := g.Check(ctx, flashOrder("u1")); err != nil {
		t.Fatalf("after the TTL: %v, want the new rank 0", err)
	}
	if n := len(fake.RiskCalls()); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

func TestCacheIsBounded(t *testing.T) {
	g, fake := newGate(t, riskgate.WithMaxCached(3))
	ctx := context.Background()
	for i := range 10 {
		if err := g.Check(ctx, flashOrder(fmt.Sprint("u", i))); err != nil {
			t.Fatal(err)
		}
	}
	// Ten users, three kept: asking all ten again reaches WeChat for at
	// least seven.
	for i := range 10 {
		if err := g.Check(ctx, flashOrder(fmt.Sprint("u", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.RiskCalls()); n < 17 || n > 20 {
		t.Errorf("%d calls for 20 checks of 10 users with 3 cached, want 17 to 20", n)
	}
}

func TestPlainOrdersAndPeersWithoutIPAreNotChecked(t *testing.T) {
	g, fake := newGate(t)
	fake.SetRiskRank("o-u1", 4)
	ctx := context.Background()
	if err := g.Check(ctx, riskgate.Order{UserID: "u1", PeerAddr: "198.51.100.9:1"}); err != nil {
		t.Fatalf("a plain order: %v", err)
	}
	if err := g.Check(ctx, riskgate.Order{UserID: "u1", FlashSaleID: "fs", PeerAddr: "pipe"}); err != nil {
		t.Fatalf("a peer with no IP: %v", err)
	}
	if n := len(fake.RiskCalls()); n != 0 {
		t.Errorf("%d calls, want 0", n)
	}
}

func TestNewRejectsBadKnobs(t *testing.T) {
	fake := wxshiptest.NewServer(t)
	app, _ := wxapp.New(fake.Config())
	r := wxrisk.New(app)
	for name, o := range map[string]riskgate.Option{
		"threshold 0": riskgate.WithThreshold(0), "threshold 5": riskgate.WithThreshold(5),
		"ttl 0": riskgate.WithTTL(0), "ttl 2 days": riskgate.WithTTL(48 * time.Hour),
		"timeout 0": riskgate.WithTimeout(0), "cache 0": riskgate.WithMaxCached(0),
	} {
		if _, err := riskgate.New(r, openIDs, o); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := riskgate.New(nil, openIDs); err == nil {
		t.Error("no ranker accepted")
	}
}

// An outage fails every lookup; the log says so once a second, not once a
// buyer, and the orders go through.
func TestOutageIsLoggedOnceASecond(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	g, fake := newGate(t, riskgate.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))), riskgate.WithClock(func() time.Time { return now }))
	fake.SetOutage(true)
	for i := range 5 {
		if err := g.Check(context.Background(), flashOrder(fmt.Sprint("u", i))); err != nil {
			t.Fatalf("u%d in an outage: %v", i, err)
		}
	}
	if n := strings.Count(buf.String(), "WeChat risk rank failed"); n != 1 {
		t.Errorf("%d failure lines for 5 failures within a second, want 1:\n%s", n, buf.String())
	}
	now = now.Add(time.Second)
	if err := g.Check(context.Background(), flashOrder("u9")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "unlogged_failures=4") {
		t.Errorf("the next line does not count the 4 unlogged failures:\n%s", buf.String())
	}
}
