package features

import (
	"log/slog"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Catalog tells the category of a product. Implementations must be fast and
// safe for concurrent use (an in-memory map, not a database round trip): the
// store calls it on the apply path. A nil Catalog is allowed.
type Catalog interface {
	Category(productID string) string
}

// Option configures a Store.
type Option func(*config)

type config struct {
	catalog       Catalog
	viewerTimeout int64 // ms
	entityTTL     int64 // ms
	liveTTL       int64 // ms
	userTTL       int64 // ms
	maxEntities   int
	maxUsers      int
	sweepEvery    int64 // ms
	weights       UserWeights
	limits        UserLimits
	log           *slog.Logger
	keep          func(*tidev1.Event) bool
}

func defaultConfig() config {
	return config{
		viewerTimeout: (30 * time.Minute).Milliseconds(),
		entityTTL:     (65 * time.Minute).Milliseconds(),
		liveTTL:       (12 * time.Hour).Milliseconds(),
		userTTL:       (6 * time.Hour).Milliseconds(),
		maxEntities:   1 << 20,
		maxUsers:      1 << 21,
		sweepEvery:    time.Minute.Milliseconds(),
		weights:       DefaultUserWeights(),
		limits:        DefaultUserLimits(),
		log:           slog.Default(),
	}
}

// WithCatalog sets where product categories come from when an event has no
// attrs["category"] and no PRODUCT_CHANGED event named one.
func WithCatalog(c Catalog) Option { return func(o *config) { o.catalog = c } }

// WithViewerTimeout sets how long a viewer who entered a room and was not
// seen since (no leave, no chat, like or gift) still counts as watching.
// Default 30 min.
func WithViewerTimeout(d time.Duration) Option {
	return func(o *config) { o.viewerTimeout = d.Milliseconds() }
}

// WithTTL sets how long an idle room, product or anchor (no event in event
// time) is kept, default 65 min (its windows are empty after 1 h), and how
// long an idle room that is still live is kept, default 12 h.
func WithTTL(idle, live time.Duration) Option {
	return func(o *config) { o.entityTTL, o.liveTTL = idle.Milliseconds(), live.Milliseconds() }
}

// WithUserTTL sets how long an idle user is kept. Default 6 h.
func WithUserTTL(d time.Duration) Option { return func(o *config) { o.userTTL = d.Milliseconds() } }

// WithMaxEntities caps the rooms, products and anchors (each) and the users
// kept; beyond a cap the least recently active are evicted first. Defaults
// 1,048,576 and 2,097,152.
func WithMaxEntities(perKind, users int) Option {
	return func(o *config) { o.maxEntities, o.maxUsers = perKind, users }
}

// WithSweepEvery sets how often (in event time) idle entities are evicted
// and viewer timeouts expire. Default 1 min.
func WithSweepEvery(d time.Duration) Option {
	return func(o *config) { o.sweepEvery = max(d.Milliseconds(), 1) }
}

// WithUserWeights sets the engagement strengths (default DefaultUserWeights).
func WithUserWeights(w UserWeights) Option { return func(o *config) { o.weights = w } }

// WithUserLimits bounds the per-user lists (default DefaultUserLimits).
func WithUserLimits(l UserLimits) Option { return func(o *config) { o.limits = l } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *config) { o.log = l } }
