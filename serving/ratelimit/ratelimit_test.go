package ratelimit

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/tide-live/tide/serving/auth"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)} }

func TestBurstThenRefusalThenRefill(t *testing.T) {
	clk := newClock()
	l := New(WithDefault(Rule{PerPrincipal: PerSecond(2, 5)}), WithClock(clk.now))
	for i := range 5 {
		if ok, _ := l.Allow("/p", ByPrincipal, "u:a"); !ok {
			t.Fatalf("call %d of the burst refused", i+1)
		}
	}
	ok, retry := l.Allow("/p", ByPrincipal, "u:a")
	if ok || retry != 500*time.Millisecond {
		t.Fatalf("call after the burst: ok=%v retry=%v, want refused with retry 500ms", ok, retry)
	}
	// A refusal takes no token: after the hinted wait exactly one call passes.
	clk.advance(499 * time.Millisecond)
	if ok, _ := l.Allow("/p", ByPrincipal, "u:a"); ok {
		t.Fatal("allowed before the hinted retry")
	}
	clk.advance(time.Millisecond)
	if ok, _ := l.Allow("/p", ByPrincipal, "u:a"); !ok {
		t.Fatal("refused after the hinted retry")
	}
	if ok, _ := l.Allow("/p", ByPrincipal, "u:a"); ok {
		t.Fatal("a second call passed on one refilled token")
	}
	// A long idle refills to the burst, not beyond.
	clk.advance(time.Hour)
	n := 0
	for {
		if ok, _ := l.Allow("/p", ByPrincipal, "u:a"); !ok {
			break
		}
		n++
	}
	if n != 5 {
		t.Errorf("after an hour idle %d calls passed, want the burst of 5", n)
	}
}

func TestKeysAndDimensionsAreIndependent(t *testing.T) {
	clk := newClock()
	l := New(WithDefault(Rule{PerPrincipal: PerSecond(1, 2), PerIP: PerSecond(1, 3)}), WithClock(clk.now))
	drain := func(dim Dimension, key string) int {
		n := 0
		for n < 100 {
			if ok, _ := l.Allow("/p", dim, key); !ok {
				break
			}
			n++
		}
		return n
	}
	if n := drain(ByPrincipal, "u:a"); n != 2 {
		t.Fatalf("user a got %d, want 2", n)
	}
	if n := drain(ByPrincipal, "u:b"); n != 2 {
		t.Errorf("user b got %d after a was drained, want its own 2", n)
	}
	if n := drain(ByIP, "u:a"); n != 3 {
		t.Errorf("an IP bucket with the same key got %d, want its own 3", n)
	}
}

func TestPerProcedureRules(t *testing.T) {
	clk := newClock()
	l := New(WithClock(clk.now),
		WithDefault(Rule{PerIP: PerSecond(10, 3)}),
		WithRule("/tide.v1.AuthService/Login", Rule{PerIP: PerMinute(6, 1)}),
		WithRule("/tide.v1.EventService/Track", Rule{}), // unlimited
	)
	if ok, _ := l.Allow("/tide.v1.AuthService/Login", ByIP, "1.2.3.4"); !ok {
		t.Fatal("first login refused")
	}
	ok, retry := l.Allow("/tide.v1.AuthService/Login", ByIP, "1.2.3.4")
	if ok || retry != 10*time.Second {
		t.Errorf("second login: ok=%v retry=%v, want refused, retry 10s", ok, retry)
	}
	// Login has its own bucket: the default one is untouched, and shared by
	// procedures without a rule.
	for i := range 3 {
		proc := fmt.Sprintf("/tide.v1.FeedService/P%d", i)
		if ok, _ := l.Allow(proc, ByIP, "1.2.3.4"); !ok {
			t.Errorf("%s refused", proc)
		}
	}
	if ok, _ := l.Allow("/tide.v1.FeedService/Other", ByIP, "1.2.3.4"); ok {
		t.Error("the shared default bucket gave more than its burst")
	}
	for range 1000 {
		if ok, _ := l.Allow("/tide.v1.EventService/Track", ByIP, "1.2.3.4"); !ok {
			t.Fatal("an unlimited procedure was refused")
		}
	}
	if l.Len(ByIP) != 2 {
		t.Errorf("%d IP buckets, want 2 (login, default): unlimited procedures keep none", l.Len(ByIP))
	}
}

func TestMemoryBound(t *testing.T) {
	clk := newClock()
	const max = 1000
	l := New(WithDefault(Rule{PerPrincipal: PerSecond(1, 1)}), WithMaxKeys(max), WithClock(clk.now))
	for i := range 50 * max {
		l.Allow("/p", ByPrincipal, fmt.Sprintf("u:%d", i))
	}
	if n := l.Len(ByPrincipal); n > max+shards || n < max/2 {
		t.Errorf("%d buckets after 50×%d keys, want about %d", n, max, max)
	}
	// The most recent keys are remembered (still empty); the oldest were
	// forgotten, i.e. start full again.
	if ok, _ := l.Allow("/p", ByPrincipal, fmt.Sprintf("u:%d", 50*max-1)); ok {
		t.Error("the most recent key was forgotten")
	}
	if ok, _ := l.Allow("/p", ByPrincipal, "u:0"); !ok {
		t.Error("the oldest key was not evicted")
	}
}

func TestPrincipalKeys(t *testing.T) {
	for _, tt := range []struct {
		p    auth.Principal
		key  string
		nope bool
	}{
		{p: auth.Principal{Role: auth.RoleUser, UserID: "u_1"}, key: "u:u_1"},
		{p: auth.Principal{Role: auth.RoleMerchant, MerchantID: "m1", KeyID: "k1"}, key: "m:m1"},
		{p: auth.Principal{Role: auth.RoleAdmin, KeyID: "k2"}, nope: true},
		{p: auth.Principal{Role: auth.RoleAnonymous}, nope: true},
		{p: auth.Principal{Role: auth.RoleUser}, nope: true},
	} {
		key, ok := principalKey(tt.p)
		if ok == tt.nope || (ok && key != tt.key) {
			t.Errorf("principalKey(%+v) = %q, %v; want %q, %v", tt.p, key, ok, tt.key, !tt.nope)
		}
	}
}

func TestClientKey(t *testing.T) {
	l := New(WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")), WithExempt(netip.MustParsePrefix("127.0.0.0/8")))
	h := func(xff ...string) http.Header {
		hd := http.Header{}
		for _, v := range xff {
			hd.Add("X-Forwarded-For", v)
		}
		return hd
	}
	tests := []struct {
		peer string
		h    http.Header
		want string
	}{
		{"203.0.113.7:5555", nil, "203.0.113.7"},
		// An untrusted peer cannot choose its key.
		{"203.0.113.7:5555", h("198.51.100.1"), "203.0.113.7"},
		// Behind the load balancer: the rightmost untrusted hop.
		{"10.1.2.3:80", h("198.51.100.1, 203.0.113.9, 10.9.9.9"), "203.0.113.9"},
		{"10.1.2.3:80", h("198.51.100.1", "10.9.9.9"), "198.51.100.1"},
		{"10.1.2.3:80", nil, "10.1.2.3"},
		// IPv6 clients are keyed by their /64.
		{"[2001:db8:1:2:aaaa::1]:443", nil, "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9]:443", nil, "2001:db8:1:2::/64"},
		{"[::ffff:203.0.113.7]:1", nil, "203.0.113.7"},
		// Exempt: no key.
		{"127.0.0.1:9999", nil, ""},
		{"10.1.2.3:80", h("127.0.0.1"), ""},
		{"[::ffff:127.0.0.1]:1", nil, ""},
	}
	for _, tt := range tests {
		got, ok := l.clientKey(tt.peer, tt.h)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("clientKey(%s, %v) = %s, %v; want %s", tt.peer, tt.h, got, ok, tt.want)
		}
	}
}

func BenchmarkAllowParallel(b *testing.B) {
	l := New(WithDefault(Rule{PerPrincipal: PerSecond(1e9, 1e9)}))
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow("/p", ByPrincipal, fmt.Sprintf("u:%d", i%5000))
			i++
		}
	})
}
