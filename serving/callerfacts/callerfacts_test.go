package callerfacts

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/clientip"
)

func TestHashIP(t *testing.T) {
	a, _ := New(nil, []byte("key one, sixteen+"))
	b, _ := New(nil, []byte("key two, sixteen+"))
	ip := netip.MustParseAddr("203.0.113.7")
	if a.HashIP(ip) != a.HashIP(netip.MustParseAddr("::ffff:203.0.113.7")) {
		t.Error("an IPv4-mapped address hashes apart from its IPv4 form")
	}
	if h := a.HashIP(ip); !strings.HasPrefix(h, "iph_") || len(h) != 20 || strings.Contains(h, "203") {
		t.Errorf("HashIP = %q, want iph_ and 16 hex characters", h)
	}
	if a.HashIP(ip) == a.HashIP(netip.MustParseAddr("203.0.113.8")) {
		t.Error("two addresses hash alike")
	}
	if a.HashIP(ip) == b.HashIP(ip) {
		t.Error("the hash does not depend on the key")
	}
	if a.HashIP(netip.MustParseAddr("2001:db8:1:2::1")) != a.HashIP(netip.MustParseAddr("2001:db8:1:2:ffff::9")) {
		t.Error("two addresses of one IPv6 /64 hash apart")
	}
	if a.HashIP(netip.MustParseAddr("2001:db8:1:2::1")) == a.HashIP(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("two IPv6 /64s hash alike")
	}
	if _, err := New(nil, []byte("short")); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func TestFacts(t *testing.T) {
	s, _ := New(clientip.New(netip.MustParsePrefix("10.0.0.0/8")), []byte("sixteen bytes or more"))
	created := time.UnixMilli(1_700_000_000_000)
	user := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleUser, UserID: "u_a", AccountCreated: created})
	h := http.Header{"X-Forwarded-For": {"198.51.100.1"}}
	f := s.Facts(user, "10.1.2.3:555", h)
	if f.IP != s.HashIP(netip.MustParseAddr("198.51.100.1")) || f.AccountCreated != created.UnixMilli() {
		t.Errorf("behind a trusted proxy: %+v", f)
	}
	if f := s.Facts(user, "203.0.113.9:1", h); f.IP != s.HashIP(netip.MustParseAddr("203.0.113.9")) {
		t.Errorf("untrusted peer with X-Forwarded-For: IP %q, want the peer's", f.IP)
	}
	merchant := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleMerchant, MerchantID: "m1", AccountCreated: created})
	if f := s.Facts(merchant, "pipe", nil); f != (Facts{}) {
		t.Errorf("merchant over a pipe: %+v, want no facts", f)
	}

	e := &tidev1.Event{Attrs: map[string]string{"ip": "1.2.3.4", "acct_created": "1", "k": "v"}}
	Facts{}.Stamp(e)
	if len(e.Attrs) != 1 || e.Attrs["k"] != "v" {
		t.Errorf("empty facts left %v, want only the other attrs", e.Attrs)
	}
	bare := &tidev1.Event{}
	f.Stamp(bare)
	if bare.Attrs["ip"] != f.IP || bare.Attrs["acct_created"] != "1700000000000" {
		t.Errorf("stamped %v", bare.Attrs)
	}
}
