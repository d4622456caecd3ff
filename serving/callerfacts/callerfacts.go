// Package callerfacts stamps what the server knows about the caller of a
// request on the events it produces: the client's address (attrs["ip"]) and
// the account's creation time (attrs["acct_created"], Unix ms), the signals
// the anti-fraud rules R2 and R3 read (features/fraud). Both come from the
// connection and the session token, never from the client: Stamp overwrites
// whatever the event carried, and removes the key when the server does not
// know the fact.
//
// Privacy: the events land in ClickHouse for analysts, and an IP address is
// personal information (PIPL). The rules only compare addresses for
// equality, so the address is stored as a keyed hash (HMAC-SHA256, 64 bits,
// "iph_" and 16 hex characters): equal addresses give equal values under
// one key, while an analyst without the key cannot recover or look up an
// address (the IPv4 space is small enough to brute-force an unkeyed hash).
// An IPv6 client is hashed by its /64, one subscriber's allocation, as the
// rate limits count it. Every replica must share the key (TIDE_IP_HASH_KEY),
// or the same client gets different values on different replicas; rotating
// it breaks equality across the rotation, which costs R2 at most its 10
// minute window.
package callerfacts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/tide-live/tide/features/fraud"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/clientip"
)

// MinKeyBytes is the shortest IP hash key New accepts.
const MinKeyBytes = 16

// ipHashPrefix marks a hashed address, so nobody mistakes it for one.
const ipHashPrefix = "iph_"

// Stamper finds a request's facts. Safe for concurrent use.
type Stamper struct {
	clients *clientip.Resolver
	key     []byte
}

// New resolves client addresses with clients (nil: the connection's peer,
// no proxy trusted) and hashes them with key (at least MinKeyBytes; the same
// on every replica).
func New(clients *clientip.Resolver, key []byte) (*Stamper, error) {
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("ip hash key: %d bytes, want at least %d", len(key), MinKeyBytes)
	}
	return &Stamper{clients: clients, key: append([]byte(nil), key...)}, nil
}

// Facts is what the server knows about one request's caller.
type Facts struct {
	// IP is the client's address as stored: its keyed hash; empty when the
	// peer is not an IP address.
	IP string
	// AccountCreated is when tide first saw the calling user, Unix ms; zero
	// for merchants, admins and users whose token does not say.
	AccountCreated int64
}

// Facts reads the request's facts: the client address from the peer
// address (connect.Peer.Addr or http.Request.RemoteAddr) and headers h
// (X-Forwarded-For only behind a trusted proxy), the account's creation
// time from the caller in ctx (auth.PrincipalFrom).
func (s *Stamper) Facts(ctx context.Context, peerAddr string, h http.Header) Facts {
	var f Facts
	if ip, ok := s.clients.Client(peerAddr, h); ok {
		f.IP = s.HashIP(ip)
	}
	if p, ok := auth.PrincipalFrom(ctx); ok && p.Role == auth.RoleUser && !p.AccountCreated.IsZero() {
		f.AccountCreated = p.AccountCreated.UnixMilli()
	}
	return f
}

// HashIP is the stored form of ip: "iph_" and 64 bits of HMAC-SHA256 under
// the key, of the address (IPv4) or its /64 (IPv6).
func (s *Stamper) HashIP(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		ip = p.Addr()
	}
	m := hmac.New(sha256.New, s.key)
	b, _ := ip.MarshalBinary()
	m.Write(b)
	return ipHashPrefix + hex.EncodeToString(m.Sum(nil)[:8])
}

// Stamp writes f on events, overwriting the client's attrs["ip"] and
// attrs["acct_created"], and removing them when f does not know them.
func (f Facts) Stamp(events ...*tidev1.Event) {
	for _, e := range events {
		set(e, fraud.AttrIP, f.IP)
		created := ""
		if f.AccountCreated > 0 {
			created = strconv.FormatInt(f.AccountCreated, 10)
		}
		set(e, fraud.AttrAccountCreated, created)
	}
}

func set(e *tidev1.Event, key, val string) {
	if val == "" {
		delete(e.Attrs, key)
		return
	}
	if e.Attrs == nil {
		e.Attrs = map[string]string{}
	}
	e.Attrs[key] = val
}
