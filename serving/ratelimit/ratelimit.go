// Package ratelimit refuses RPCs beyond per-caller token buckets: one set
// keyed by the authenticated caller (user, merchant or admin key) and one by
// client IP address, each configurable per procedure, with memory bounded by
// an LRU of buckets. Refusals are resource_exhausted with a retry hint (a
// Retry-After header and a google.rpc.RetryInfo detail).
//
// Wire ByIP before and ByPrincipal after auth's interceptor:
//
//	connect.WithInterceptors(limiter.ByIP(), authInterceptor, limiter.ByPrincipal())
//
// Admins are not limited per principal.
package ratelimit

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/clientip"
)

// Limit is a token bucket: Rate tokens a second, holding at most Burst. A
// Limit with Rate <= 0 (the zero Limit) or rate.Inf does not limit.
type Limit struct {
	Rate  rate.Limit
	Burst int
}

// PerSecond allows n calls a second on average, burst at once.
func PerSecond(n float64, burst int) Limit { return Limit{Rate: rate.Limit(n), Burst: burst} }

// PerMinute allows n calls a minute on average, burst at once.
func PerMinute(n float64, burst int) Limit { return Limit{Rate: rate.Limit(n / 60), Burst: burst} }

func (l Limit) unlimited() bool { return l.Rate <= 0 || l.Rate == rate.Inf }

func (l Limit) limiter() *rate.Limiter {
	b := l.Burst
	if b < 1 {
		b = 1
	}
	return rate.NewLimiter(l.Rate, b)
}

// Rule is the pair of limits for a procedure (or, as the default, for every
// procedure without a rule of its own, sharing one pair of buckets).
type Rule struct {
	PerPrincipal Limit // per authenticated user, merchant or admin key
	PerIP        Limit // per client address (IPv6: per /64)
}

// DefaultRule is generous per IP because mobile carriers put many users
// behind one address (CGNAT).
var DefaultRule = Rule{PerPrincipal: PerSecond(20, 60), PerIP: PerSecond(100, 300)}

// DefaultMaxKeys bounds the buckets held per dimension (about 200 bytes each).
const DefaultMaxKeys = 100_000

// Dimension is what a bucket is keyed by.
type Dimension string

// Dimensions.
const (
	ByIP        Dimension = "ip"
	ByPrincipal Dimension = "principal"
)

// Limiter holds the buckets. Safe for concurrent use.
type Limiter struct {
	def        Rule
	rules      map[string]Rule
	maxKeys    int
	principals *buckets
	ips        *buckets
	now        func() time.Time
	trusted    []netip.Prefix
	clients    *clientip.Resolver
	exempt     []netip.Prefix
	costs      map[string]func(msg any) int
	refused    *prometheus.CounterVec
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithDefault sets the rule of procedures without their own (default
// DefaultRule).
func WithDefault(r Rule) Option { return func(l *Limiter) { l.def = r } }

// WithRule gives procedure (e.g. tidev1connect.AuthServiceLoginProcedure)
// its own rule and its own buckets.
func WithRule(procedure string, r Rule) Option {
	return func(l *Limiter) { l.rules[procedure] = r }
}

// WithCost makes a call of procedure take cost(request message) tokens
// instead of one, e.g. the number of events of a Track batch, so a limit of
// that procedure counts what a call carries, not calls. A cost below 1 takes
// one token. Unary calls only; a stream takes one token when it opens.
func WithCost(procedure string, cost func(msg any) int) Option {
	return func(l *Limiter) { l.costs[procedure] = cost }
}

// WithMaxKeys bounds the buckets held per dimension (default
// DefaultMaxKeys); the least recently used are forgotten first.
func WithMaxKeys(n int) Option { return func(l *Limiter) { l.maxKeys = n } }

// WithClock sets the clock buckets refill by (for tests).
func WithClock(now func() time.Time) Option { return func(l *Limiter) { l.now = now } }

// WithTrustedProxies makes ByIP believe X-Forwarded-For when the peer is in
// one of prefixes (the load balancers): the client is the rightmost address
// in the header that is not itself a trusted proxy (see clientip.Resolver).
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return func(l *Limiter) { l.trusted = append(l.trusted, prefixes...) }
}

// WithExempt lets clients in prefixes (after X-Forwarded-For resolution)
// past ByIP, e.g. loopback for load generators on the same host. Their
// callers are still limited by ByPrincipal.
func WithExempt(prefixes ...netip.Prefix) Option {
	return func(l *Limiter) { l.exempt = append(l.exempt, prefixes...) }
}

// WithRegisterer registers tide_ratelimit_refused_total{procedure,by} with reg.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(l *Limiter) {
		l.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tide_ratelimit_refused_total",
			Help: "RPCs refused with resource_exhausted by a rate limit, by procedure and bucket kind (ip, principal).",
		}, []string{"procedure", "by"})
		reg.MustRegister(l.refused)
	}
}

// New builds a Limiter.
func New(opts ...Option) *Limiter {
	l := &Limiter{def: DefaultRule, rules: map[string]Rule{}, costs: map[string]func(any) int{},
		maxKeys: DefaultMaxKeys, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	l.clients = clientip.New(l.trusted...)
	l.principals = newBuckets(l.maxKeys)
	l.ips = newBuckets(l.maxKeys)
	return l
}

// Allow takes a token from key's bucket of dim for procedure. When the bucket
// is empty it takes nothing and returns false and how long until a token is
// there.
func (l *Limiter) Allow(procedure string, dim Dimension, key string) (ok bool, retryAfter time.Duration) {
	return l.AllowN(procedure, dim, key, 1)
}

// AllowN takes n tokens from key's bucket of dim for procedure, or none: when
// the bucket holds fewer it returns false and how long until it holds n
// (forever, math.MaxInt64, when n is more than the burst).
func (l *Limiter) AllowN(procedure string, dim Dimension, key string, n int) (ok bool, retryAfter time.Duration) {
	lim, table, group := l.limit(procedure, dim)
	if lim.unlimited() {
		return true, 0
	}
	ok = true
	now := l.now()
	table.with(group+"\x00"+key, lim.limiter, func(b *rate.Limiter) {
		r := b.ReserveN(now, max(n, 1))
		if !r.OK() {
			ok, retryAfter = false, time.Duration(math.MaxInt64)
			return
		}
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			ok, retryAfter = false, d
		}
	})
	return ok, retryAfter
}

// limit is the limit of procedure in dim, its buckets and their group.
func (l *Limiter) limit(procedure string, dim Dimension) (Limit, *buckets, string) {
	rule, group := l.def, ""
	if r, own := l.rules[procedure]; own {
		rule, group = r, procedure
	}
	if dim == ByPrincipal {
		return rule.PerPrincipal, l.principals, group
	}
	return rule.PerIP, l.ips, group
}

// cost is how many tokens a unary call of procedure with request msg takes.
func (l *Limiter) cost(procedure string, msg any) int {
	if f := l.costs[procedure]; f != nil {
		return max(f(msg), 1)
	}
	return 1
}

// Len is the number of buckets held for dim.
func (l *Limiter) Len(dim Dimension) int {
	if dim == ByPrincipal {
		return l.principals.len()
	}
	return l.ips.len()
}

// refuse is the error for a call of cost tokens over its limit.
func (l *Limiter) refuse(procedure string, dim Dimension, cost int, retry time.Duration) error {
	if l.refused != nil {
		l.refused.WithLabelValues(procedure, string(dim)).Inc()
	}
	who := "IP address"
	if dim == ByPrincipal {
		who = "caller"
	}
	name := procedure[strings.LastIndexByte(procedure, '/')+1:]
	if retry == time.Duration(math.MaxInt64) {
		lim, _, _ := l.limit(procedure, dim)
		return connect.NewError(connect.CodeResourceExhausted,
			fmt.Errorf("rate limit: one %s call carrying %d items is more than this %s may send at once (%d); split it", name, cost, who, lim.Burst))
	}
	what := "calls"
	if _, counted := l.costs[procedure]; counted {
		what = "items (events) in calls"
	}
	return auth.RetryError(connect.CodeResourceExhausted,
		fmt.Errorf("rate limit: too many %s %s from this %s; retry in %s", name, what, who, retry.Round(time.Millisecond)), retry)
}

// principalKey is the bucket key of an authenticated caller, and false for
// callers ByPrincipal does not limit: anonymous ones (limited by IP only)
// and admins (operators and the platform's own tools).
func principalKey(p auth.Principal) (string, bool) {
	switch p.Role {
	case auth.RoleUser:
		return "u:" + p.UserID, p.UserID != ""
	case auth.RoleMerchant:
		return "m:" + p.MerchantID, p.MerchantID != ""
	}
	return "", false
}
