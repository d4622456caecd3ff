package clientip

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClient(t *testing.T) {
	lb := New(netip.MustParsePrefix("10.0.0.0/8"))
	tests := []struct {
		name string
		r    *Resolver
		peer string
		xff  []string
		want string
	}{
		{"direct peer", lb, "203.0.113.7:5555", nil, "203.0.113.7"},
		{"untrusted peer's forwarded header is ignored", lb, "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"zero resolver ignores the header", nil, "10.0.0.2:1", []string{"198.51.100.1"}, "10.0.0.2"},
		{"trusted proxy: rightmost untrusted hop", lb, "10.0.0.2:1", []string{"1.1.1.1, 198.51.100.1", "10.0.0.3"}, "198.51.100.1"},
		{"trusted proxy, all hops trusted: leftmost", lb, "10.0.0.2:1", []string{"10.9.9.9, 10.0.0.3"}, "10.9.9.9"},
		{"trusted proxy without header: the proxy", lb, "10.0.0.2:1", nil, "10.0.0.2"},
		{"ipv4-mapped ipv6 is unmapped", lb, "[::ffff:203.0.113.9]:80", nil, "203.0.113.9"},
		{"ipv6", lb, "[2001:db8::1]:443", nil, "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.xff {
				h.Add("X-Forwarded-For", v)
			}
			got, ok := tt.r.Client(tt.peer, h)
			if !ok || got.String() != tt.want {
				t.Errorf("Client(%q, %v) = %v, %v; want %s", tt.peer, tt.xff, got, ok, tt.want)
			}
		})
	}
	if _, ok := lb.Client("pipe", nil); ok {
		t.Error("a peer that is not an IP address resolved")
	}
}

func TestParsePrefixes(t *testing.T) {
	p, err := ParsePrefixes(" 10.0.0.0/8, ::1/128 ,none,")
	if err != nil || len(p) != 2 || p[1] != netip.MustParsePrefix("::1/128") {
		t.Fatalf("ParsePrefixes = %v, %v", p, err)
	}
	if _, err := ParsePrefixes("10.0.0.0"); err == nil {
		t.Error("a bare address was taken as a prefix")
	}
}
