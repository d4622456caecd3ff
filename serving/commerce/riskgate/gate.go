// Package riskgate is checkout's fraud rule R7: before a flash-sale (秒杀)
// or coupon order, ask WeChat how risky the buyer is (getUserRiskRank,
// scene 1 营销作弊, commerce/wxrisk) and refuse a buyer ranked at or above a
// threshold with permission_denied and a reason the mini-program can show.
//
// The rank is cached per user for a while (default 10 min), so a storm of
// one buyer's taps asks WeChat once; concurrent first taps share one
// lookup. WeChat failing or slower than a short timeout (default 300 ms)
// lets the order through (fail open: a sale must not stop because WeChat
// is slow), logged and counted. Each refusal is raised as a fraud flag
// (features/fraud.RuleWeChatRiskRank) for the fraud_flags table.
package riskgate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/tide-live/tide/commerce/wxrisk"
	"github.com/tide-live/tide/features/fraud"
	"github.com/tide-live/tide/serving/clientip"
)

// Defaults and bounds of the gate's knobs.
const (
	DefaultThreshold = 3
	DefaultTTL       = 10 * time.Minute
	MaxTTL           = 24 * time.Hour
	DefaultTimeout   = 300 * time.Millisecond
	DefaultMaxCached = 100_000
	// retryAfter is how long a lookup that found no rank (WeChat failed,
	// the user has no known openid) is remembered: long enough that a
	// storm of retries does not wait on a failing WeChat each time.
	retryAfter = 30 * time.Second
)

// Message is what a refused buyer is told (the error's message).
const Message = "账号存在风险，请稍后再试"

// Ranker looks up a user's risk rank (*wxrisk.Client).
type Ranker interface {
	RiskRank(ctx context.Context, r wxrisk.Request) (wxrisk.Rank, error)
}

// OpenIDs finds a user's openid in the mini-program; ok is false when tide
// does not know it (commerce/postgres.Orders.PayerOpenID).
type OpenIDs func(ctx context.Context, userID string) (openID string, ok bool, err error)

// Order is the order a buyer submits, as the gate sees it.
type Order struct {
	UserID      string
	FlashSaleID string
	CouponID    string
	RoomID      string
	// PeerAddr and Header are the request's connection peer
	// (connect.Peer.Addr) and headers, for the client's IP.
	PeerAddr string
	Header   http.Header
}

// Gate decides whether a buyer may place a flash-sale or coupon order. Safe
// for concurrent use.
type Gate struct {
	ranker    Ranker
	openIDs   OpenIDs
	clients   *clientip.Resolver
	threshold int
	ttl       time.Duration
	timeout   time.Duration
	flag      func(fraud.Flag)
	log       *slog.Logger
	now       func() time.Time
	checks    *prometheus.CounterVec

	cache   *cache
	lookups singleflight.Group

	warnMu     sync.Mutex
	warnedAt   time.Time // when a failure was last logged
	suppressed int       // failures not logged since
}

// Option configures a Gate.
type Option func(*Gate)

// WithThreshold refuses ranks at or above n (1 to wxrisk.MaxRank; default 3).
func WithThreshold(n int) Option { return func(g *Gate) { g.threshold = n } }

// WithTTL sets how long a user's rank is reused (default 10 min, at most MaxTTL).
func WithTTL(d time.Duration) Option { return func(g *Gate) { g.ttl = d } }

// WithTimeout bounds one lookup (default 300 ms); past it the order goes through.
func WithTimeout(d time.Duration) Option { return func(g *Gate) { g.timeout = d } }

// WithMaxCached bounds the users whose rank is kept (default 100,000).
func WithMaxCached(n int) Option { return func(g *Gate) { g.cache.max = n } }

// WithClients finds the client's IP behind trusted proxies (default: the
// connection's peer, X-Forwarded-For ignored).
func WithClients(r *clientip.Resolver) Option { return func(g *Gate) { g.clients = r } }

// WithFlags sends each refusal's fraud flag to sink (fraudch.Writer.Add);
// without it refusals are only logged.
func WithFlags(sink func(fraud.Flag)) Option { return func(g *Gate) { g.flag = sink } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(g *Gate) { g.log = l } }

// WithRegisterer registers the gate's counter,
// tide_commerce_risk_checks_total{outcome}, with reg.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(g *Gate) { reg.MustRegister(g.checks) }
}

// WithClock sets the clock of the cache and the flags (tests).
func WithClock(now func() time.Time) Option { return func(g *Gate) { g.now = now } }

// New returns a gate that ranks users with ranker, finding their openids
// with openIDs.
func New(ranker Ranker, openIDs OpenIDs, opts ...Option) (*Gate, error) {
	if ranker == nil || openIDs == nil {
		return nil, errors.New("riskgate: needs a ranker and an openid lookup")
	}
	g := &Gate{ranker: ranker, openIDs: openIDs, threshold: DefaultThreshold, ttl: DefaultTTL, timeout: DefaultTimeout,
		log: slog.Default(), now: time.Now, cache: &cache{max: DefaultMaxCached, entries: map[string]entry{}},
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tide_commerce_risk_checks_total",
			Help: "Flash-sale and coupon orders checked against WeChat's risk rank, by outcome: allowed, refused, " +
				"failed_open (WeChat failed or timed out), no_openid (tide knows no openid of the buyer), no_client_ip."}, []string{"outcome"})}
	for _, o := range opts {
		o(g)
	}
	switch {
	case g.threshold < 1 || g.threshold > wxrisk.MaxRank:
		return nil, fmt.Errorf("riskgate: threshold: %d is not in 1..%d", g.threshold, wxrisk.MaxRank)
	case g.ttl <= 0 || g.ttl > MaxTTL:
		return nil, fmt.Errorf("riskgate: ttl: %s is not in (0, %s]", g.ttl, MaxTTL)
	case g.timeout <= 0:
		return nil, fmt.Errorf("riskgate: timeout: %s is not positive", g.timeout)
	case g.cache.max < 1:
		return nil, fmt.Errorf("riskgate: max cached: %d is not positive", g.cache.max)
	}
	return g, nil
}

// Check lets o through (nil) or refuses it with permission_denied and
// Message. Orders with neither a flash sale nor a coupon are not checked.
func (g *Gate) Check(ctx context.Context, o Order) error {
	if o.FlashSaleID == "" && o.CouponID == "" {
		return nil
	}
	ip, ok := g.clients.Client(o.PeerAddr, o.Header)
	if !ok {
		g.checks.WithLabelValues("no_client_ip").Inc()
		return nil
	}
	e, ok := g.cache.get(o.UserID, g.now())
	if !ok {
		if e, ok = g.lookup(ctx, o.UserID, ip); !ok {
			return nil // the caller went away first
		}
	}
	switch {
	case e.outcome != ranked:
		g.checks.WithLabelValues(string(e.outcome)).Inc()
		return nil
	case e.rank < g.threshold:
		g.checks.WithLabelValues("allowed").Inc()
		return nil
	}
	g.checks.WithLabelValues("refused").Inc()
	g.refused(ctx, o, e.rank)
	return connect.NewError(connect.CodePermissionDenied, errors.New(Message))
}

// lookup ranks userID once for every concurrent caller, within the
// timeout, and caches the answer; ok is false when ctx ended first.
func (g *Gate) lookup(ctx context.Context, userID string, ip netip.Addr) (entry, bool) {
	ch := g.lookups.DoChan(userID, func() (any, error) {
		// Detached from the first caller: its going away must not fail the others.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
		defer cancel()
		e := g.rank(lctx, userID, ip)
		now := g.now()
		e.expires = now.Add(min(retryAfter, g.ttl))
		if e.outcome == ranked {
			e.expires = now.Add(g.ttl)
		}
		g.cache.put(userID, e, now)
		return e, nil
	})
	select {
	case res := <-ch:
		return res.Val.(entry), true
	case <-ctx.Done():
		return entry{}, false
	}
}

// rank asks WeChat for userID's rank.
func (g *Gate) rank(ctx context.Context, userID string, ip netip.Addr) entry {
	openID, ok, err := g.openIDs(ctx, userID)
	switch {
	case err != nil:
		g.warnFailure(ctx, "risk gate: openid lookup failed; orders go through", userID, err)
		return entry{outcome: failedOpen}
	case !ok:
		return entry{outcome: noOpenID}
	}
	r, err := g.ranker.RiskRank(ctx, wxrisk.Request{OpenID: openID, Scene: wxrisk.SceneMarketing, ClientIP: ip})
	if err != nil {
		g.warnFailure(ctx, "risk gate: WeChat risk rank failed; orders go through", userID, err)
		return entry{outcome: failedOpen}
	}
	return entry{outcome: ranked, rank: r.Rank}
}

// warnFailure logs a failed lookup, at most one a second (an outage in a
// flash-sale storm fails thousands), saying how many went unlogged.
func (g *Gate) warnFailure(ctx context.Context, msg, userID string, err error) {
	g.warnMu.Lock()
	now := g.now()
	if now.Sub(g.warnedAt) < time.Second {
		g.suppressed++
		g.warnMu.Unlock()
		return
	}
	n := g.suppressed
	g.warnedAt, g.suppressed = now, 0
	g.warnMu.Unlock()
	g.log.WarnContext(ctx, msg, "user_id", userID, "timeout", g.timeout, "unlogged_failures", n, "err", err)
}

// refused logs the refusal and raises its flag.
func (g *Gate) refused(ctx context.Context, o Order, rank int) {
	reason := fmt.Sprintf("wechat_risk_rank %d >= %d at a %s order", rank, g.threshold, what(o))
	g.log.InfoContext(ctx, "risk gate: order refused", "user_id", o.UserID, "rule", fraud.RuleWeChatRiskRank.String(),
		"risk_rank", rank, "threshold", g.threshold, "flash_sale_id", o.FlashSaleID, "coupon_id", o.CouponID, "room_id", o.RoomID)
	if g.flag != nil {
		g.flag(fraud.Flag{Kind: fraud.KindUser, ID: o.UserID, Rule: fraud.RuleWeChatRiskRank, Reason: reason,
			Measure: int64(rank), RoomID: o.RoomID, At: g.now().UTC()})
	}
}

func what(o Order) string {
	switch {
	case o.FlashSaleID != "" && o.CouponID != "":
		return "flash sale " + o.FlashSaleID + " with coupon " + o.CouponID
	case o.FlashSaleID != "":
		return "flash sale " + o.FlashSaleID
	}
	return "coupon " + o.CouponID
}
