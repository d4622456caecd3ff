// Package clientip finds the address of the client behind an RPC: the
// connection's peer, or the X-Forwarded-For client when the peer is one of
// the operator's trusted proxies (load balancers). It is the one place tide
// decides who the client is, shared by the per-IP rate limits
// (serving/ratelimit) and the request facts stamped on events
// (serving/callerfacts).
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds client addresses. The zero Resolver trusts no proxy: the
// client is always the connection's peer, and X-Forwarded-For is ignored.
// Safe for concurrent use (it never changes).
type Resolver struct {
	trusted []netip.Prefix
}

// New believes X-Forwarded-For only from peers in trusted.
func New(trusted ...netip.Prefix) *Resolver {
	return &Resolver{trusted: append([]netip.Prefix(nil), trusted...)}
}

// Client is the client of a request whose connection's peer is addr
// ("host:port", as connect.Peer.Addr and http.Request.RemoteAddr give it)
// and whose headers are h. When the peer is a trusted proxy the client is
// the rightmost X-Forwarded-For address that is not itself a trusted proxy
// (the leftmost when all are). IPv4-mapped IPv6 addresses are unmapped. It
// returns false when addr is not an IP address (e.g. a unix socket or an
// in-memory pipe).
func (r *Resolver) Client(addr string, h http.Header) (netip.Addr, bool) {
	ip, ok := ParseHost(addr)
	if !ok {
		return netip.Addr{}, false
	}
	if r != nil && Contains(r.trusted, ip) {
		if fwd, ok := r.forwarded(h); ok {
			ip = fwd
		}
	}
	return ip.Unmap(), true
}

// forwarded is the rightmost X-Forwarded-For address that is not a trusted
// proxy, or the leftmost when all are.
func (r *Resolver) forwarded(h http.Header) (netip.Addr, bool) {
	var hops []netip.Addr
	for _, v := range h.Values("X-Forwarded-For") {
		for _, part := range strings.Split(v, ",") {
			if ip, ok := ParseHost(strings.TrimSpace(part)); ok {
				hops = append(hops, ip)
			}
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		if !Contains(r.trusted, hops[i]) {
			return hops[i], true
		}
	}
	if len(hops) > 0 {
		return hops[0], true
	}
	return netip.Addr{}, false
}

// ParseHost reads an address written as "ip", "ip:port" or "[ip6]:port".
func ParseHost(addr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr(), true
	}
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	return ip, err == nil
}

// Contains reports whether ip (unmapped) is in one of prefixes.
func Contains(prefixes []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParsePrefixes reads comma-separated CIDRs ("10.0.0.0/8, ::1/128"); blanks
// and "none" are skipped.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" || f == "none" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
