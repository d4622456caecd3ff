// Package feed serves personalised room and product feeds: the FeedService
// Connect handler and the in-process Service it wraps (the closed-loop demo
// and benchmarks call Service directly).
//
// A request runs a pipeline of named stages:
//
//  1. candidates: rooms of followed anchors live now, collaborative-filtering
//     neighbours of the viewer's recent rooms (or products), trending items
//     in the viewer's categories, popular items, new rooms for exploration,
//     operator pins, and announced (预告) rooms;
//  2. hydrate: the candidates' precomputed features from the snapshot
//     (popularity, trend, category, merchant, boosts) joined with the
//     viewer's online features (impressions, rooms left, products bought,
//     follows, category affinity);
//  3. score: the current model (ranker.Model) blended with live heat,
//     category affinity and follows, or popularity alone, by experiment arm;
//  4. rerank: no duplicates, no rooms just left or products bought, fatigue
//     on repeated impressions, diversity across categories and merchants,
//     exploration slots for new rooms, operator pins and boosts, cold start;
//  5. page: items after the cursor, each checked live against the features
//     store, with position, reasons and the next cursor.
//
// Live rooms come from a snapshot rebuilt whenever the features store's live
// set changes (and every second for trends), so a room that starts or ends
// streaming shows or goes within milliseconds of its event being applied;
// the viewer's own features are read per request, so a click changes the
// next feed.
package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
	"github.com/tide-live/tide/serving/experiment"
)

// Page sizes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Service ranks feeds. It is safe for concurrent use.
type Service struct {
	store     *features.Store
	roomModel *ranker.Store
	// roomModelByAnchor: roomModel's items are merchant (anchor) ids, not room ids
	roomModelByAnchor bool
	productModel      *ranker.Store
	ctrModel          *ctr.Store // learned scorer; nil or empty: hand-set weights
	memory            Memory     // long-term viewer memory, or nil
	catalog           *Catalog
	assigner          *experiment.Assigner
	exposures         *experiment.Exposures
	tune              Tuning
	defaultRanker     string
	initRules         Rules
	reg               prometheus.Registerer
	log               *slog.Logger
	now               func() time.Time
	metrics           *metrics

	rules    atomic.Pointer[compiledRules]
	rulesVer atomic.Uint64

	roomSnap, prodSnap              atomic.Pointer[snapshot]
	buildingRooms, buildingProducts atomic.Bool
	buildMu                         sync.Mutex
	featBuf                         []features.RoomFeatures // guarded by buildMu

	reqPrefix string
	reqSeq    atomic.Uint64
	pool      sync.Pool // *scratch
}

// New builds a feed service over the online features store.
func New(store *features.Store, opts ...Option) (*Service, error) {
	if store == nil {
		return nil, errors.New("feed: a features store is required")
	}
	s := &Service{store: store, tune: DefaultTuning(), defaultRanker: RankerPersonalised,
		log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.catalog == nil {
		s.catalog = NewCatalog()
	}
	if err := checkVariant(s.defaultRanker); err != nil {
		return nil, err
	}
	for _, v := range s.assigner.Config().ParamValues(ParamRanker) {
		if err := checkVariant(v); err != nil {
			return nil, fmt.Errorf("feed: experiment config: %w", err)
		}
	}
	for _, v := range s.assigner.Config().ParamValues(ParamExploreShare) {
		if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0 || f > 0.5 {
			return nil, fmt.Errorf("feed: experiment config: %s %q is not a fraction in [0, 0.5]", ParamExploreShare, v)
		}
	}
	if err := s.SetRules(s.initRules); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(s.reg)
	s.reqPrefix = strconv.FormatInt(s.now().UnixNano()/1e6%(1<<40), 36) + "-"
	return s, nil
}

func checkVariant(v string) error {
	if v != RankerPersonalised && v != RankerPopularity {
		return fmt.Errorf("feed: unknown ranker variant %q (want %q or %q)", v, RankerPersonalised, RankerPopularity)
	}
	return nil
}

// SetRules replaces the operator rules and rebuilds the snapshots, so the
// next request uses them.
func (s *Service) SetRules(r Rules) error {
	if err := r.Validate(); err != nil {
		return err
	}
	s.rules.Store(compileRules(r, s.rulesVer.Add(1)))
	if s.roomSnap.Load() != nil {
		s.Refresh()
	}
	return nil
}

// Refresh rebuilds the room and product snapshots now. Requests refresh
// them by themselves; call it after a bulk catalog load so that the very
// next request sees it.
func (s *Service) Refresh() {
	s.refreshProducts(s.refreshRooms())
}

// Catalog is the service's catalog.
func (s *Service) Catalog() *Catalog { return s.catalog }

// newRequestID names a response: a per-process prefix and a counter, unique
// across restarts to the millisecond.
func (s *Service) newRequestID() string {
	return "f" + s.reqPrefix + strconv.FormatUint(s.reqSeq.Add(1), 36)
}

// pageSize checks the requested page size.
func pageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 0 || n > MaxPageSize:
		return 0, connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("page_size: %d is not in [1, %d] (0 means %d)", n, MaxPageSize, DefaultPageSize))
	}
	return int(n), nil
}

// needUser checks the in-process caller gave a user.
func needUser(userID string) error {
	if userID == "" {
		return connect.NewError(connect.CodeUnauthenticated, errors.New("feed: no user; sign in first"))
	}
	return nil
}

// variant reads the ranker variant and exploration share from the arms.
func (s *Service) variant(as []experiment.Assignment) (string, float64) {
	v := s.defaultRanker
	if p, ok := experiment.Param(as, ParamRanker); ok {
		v = p
	}
	explore := s.tune.ExploreShare
	if p, ok := experiment.Param(as, ParamExploreShare); ok {
		if f, err := strconv.ParseFloat(p, 64); err == nil {
			explore = f
		}
	}
	return v, explore
}

// expose logs the exposure of the viewer to their arms.
func (s *Service) expose(ctx context.Context, userID, surface, reqID string, as []experiment.Assignment) {
	s.exposures.Log(ctx, userID, surface, reqID, as)
}
