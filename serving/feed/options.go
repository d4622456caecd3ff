package feed

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/serving/experiment"
)

// Ranker variants, the values of the "ranker" experiment param.
const (
	// RankerPersonalised scores with the model, the viewer's recent
	// engagement, category affinity, follows and live heat (the default).
	RankerPersonalised = "personalised"
	// RankerPopularity ranks by live popularity only: the control arm.
	RankerPopularity = "popularity"
)

// ParamRanker is the experiment param that switches the ranker variant.
const ParamRanker = "ranker"

// ParamExploreShare is the experiment param that overrides Tuning.ExploreShare
// (a decimal fraction, e.g. "0.2").
const ParamExploreShare = "explore_share"

// Tuning holds the knobs of the pipeline. DefaultTuning gives sensible values.
type Tuning struct {
	// Candidate sources.
	PopularCandidates  int // rooms/products taken from the popular list
	TrendingPerCat     int // taken per liked category from the trending lists
	LikedCategories    int // how many of the viewer's categories are used
	RecentForCF        int // recent items whose neighbours are candidates
	NeighboursPerItem  int // neighbours taken per recent item and relation
	NewRoomCandidates  int // new rooms eligible for exploration
	MaxHistory         int // recent engagements fed to the model
	UpcomingHorizon    time.Duration
	UpcomingCandidates int
	// Scoring weights (each term is in [0, 1] before its weight). WPrice
	// weighs a product's fit to the viewer's long-term price band
	// (features.PriceBand.Affinity, from long-term memory): added like the
	// others under the hand-set weights, a (1 + WPrice·fit) factor on the
	// learned CTR score.
	WModel, WPop, WTrend, WCategory, WFollow, WPrice float64
	// Re-ranking.
	LeftWindow     time.Duration // rooms left this recently are excluded
	Fatigue        float64       // score multiplier per impression in the current streak
	DiversityWin   int           // window of positions the two limits apply to
	MaxPerCategory int           // items of one category in any window
	MaxPerMerchant int           // items of one merchant in any window
	ExploreShare   float64       // share of positions given to new rooms
	NewRoomAge     time.Duration // a room this recently started (and little seen) is new
	// ModelTrend keeps the model's offline trend component (popularity in
	// the training window before the viewer's latest event). Off by
	// default: the feed's live heat and trend replace it, and it costs a
	// pass over the training window per request.
	ModelTrend bool
	// Snapshot refresh: the precomputed candidate lists are rebuilt when
	// the live set, catalog, rules or model change, and at least this often
	// (trending and popularity move continuously).
	RefreshEvery time.Duration
}

// DefaultTuning returns the production settings.
func DefaultTuning() Tuning {
	return Tuning{
		PopularCandidates: 80, TrendingPerCat: 20, LikedCategories: 3, RecentForCF: 10,
		NeighboursPerItem: 10, NewRoomCandidates: 20, MaxHistory: 12,
		UpcomingHorizon: 24 * time.Hour, UpcomingCandidates: 100,
		WModel: 1, WPop: 0.5, WTrend: 0.3, WCategory: 0.6, WFollow: 1.5, WPrice: 0.3,
		LeftWindow: 10 * time.Minute, Fatigue: 0.8,
		DiversityWin: 5, MaxPerCategory: 3, MaxPerMerchant: 1,
		ExploreShare: 0.1, NewRoomAge: 15 * time.Minute,
		RefreshEvery: time.Second,
	}
}

// Option configures a Service.
type Option func(*Service)

// WithRoomModel scores rooms with the model in st (item ids are room ids).
func WithRoomModel(st *ranker.Store) Option {
	return func(s *Service) { s.roomModel, s.roomModelByAnchor = st, false }
}

// WithAnchorModel scores rooms with the users × anchors model in st, as
// `tide train` writes it (anchors.bin: item ids are the anchors' merchant
// ids): a room is scored as its anchor, and the viewer's history is the
// anchors they engaged with. Viewers come back to anchors, not to one
// broadcast, so this is the model to serve.
func WithAnchorModel(st *ranker.Store) Option {
	return func(s *Service) { s.roomModel, s.roomModelByAnchor = st, true }
}

// WithProductModel scores products with the model in st (item ids are
// product ids).
func WithProductModel(st *ranker.Store) Option { return func(s *Service) { s.productModel = st } }

// WithCatalog sets room and product metadata, shelves and schedules
// (default: an empty catalog; the online features still name merchants and
// product categories).
func WithCatalog(c *Catalog) Option { return func(s *Service) { s.catalog = c } }

// WithExperiments assigns viewers to arms with a and logs exposures to x
// (either may be nil).
func WithExperiments(a *experiment.Assigner, x *experiment.Exposures) Option {
	return func(s *Service) { s.assigner, s.exposures = a, x }
}

// WithRules sets the initial operator rules (see SetRules).
func WithRules(r Rules) Option { return func(s *Service) { s.initRules = r } }

// WithTuning replaces DefaultTuning.
func WithTuning(t Tuning) Option { return func(s *Service) { s.tune = t } }

// WithDefaultRanker sets the variant for viewers in no experiment that sets
// the ranker param (default RankerPersonalised).
func WithDefaultRanker(v string) Option { return func(s *Service) { s.defaultRanker = v } }

// WithRegistry registers the feed's metrics (stage latencies, items served)
// with reg.
func WithRegistry(reg prometheus.Registerer) Option { return func(s *Service) { s.reg = reg } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithClock sets the wall clock (default time.Now) used for the schedule and
// snapshot ages. Feature times (recently left, new rooms) follow the
// features store's watermark.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }
