package feed

import (
	"slices"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
)

// Scorer names, the detail of the REASON_KIND_SCORER reason.
const (
	// ScorerHandSet is the cold-start fallback: Tuning's hand-set weights,
	// used when no CTR model is loaded for the surface.
	ScorerHandSet = "hand-set"
	// ScorerPopularity is the popularity control arm.
	ScorerPopularity = "popularity"
	// scorerCTR prefixes the learned scorer's name: "ctr <version>".
	scorerCTR = "ctr"
)

// ctrHistoryLen is the CF history the CTR model's CF feature is computed
// from; tide train's sampler uses the same (ranker/train
// DefaultSamplerConfig.HistoryLen), so serving builds the feature the model
// was fitted on.
const ctrHistoryLen = 50

// WithCTRModel scores the room and product feeds with the CTR models in st
// (ctr.bin from tide train): every candidate's score is the model's
// probability that the viewer enters (clicks) it, from the same features
// training built: the CF score of the room's anchor (WithAnchorModel) or of
// the product (WithProductModel), live heat, the viewer's repeat
// engagement, follows, category, freshness and fatigue. The hand-set
// weights of Tuning remain only as the fallback for a surface whose model
// is missing. st may be swapped while serving (hot reload).
func WithCTRModel(st *ctr.Store) Option { return func(s *Service) { s.ctrModel = st } }

// ctrScratch is the pooled memory of CTR scoring.
type ctrScratch struct {
	u     ctr.User
	x     ctr.Features
	hist  ranker.History
	items []ranker.ItemID
	cf    []float64
	ids   []string
	rooms []features.RoomFeatures
	prod  features.ProductFeatures
	room  features.RoomFeatures
}

// scorerName is the detail of the scorer reason for model m.
func scorerName(a *ctr.Artifact) string {
	if a.Version == "" {
		return scorerCTR
	}
	return scorerCTR + " " + a.Version
}

// scoreCTR is the score stage with the learned model of kind k, when one
// is loaded: it sets every candidate's score and reports true, or reports
// false (the caller uses the hand-set weights).
func (r *run) scoreCTR(k ctr.Kind) bool {
	a := r.s.ctrModel.Artifact()
	m := a.Model(k)
	if m == nil {
		return false
	}
	sc, sn := r.sc, r.sn
	cs := sc.cands
	x := &sc.ctr
	now := r.s.store.Watermark()
	if now.IsZero() || now.Unix() <= 0 {
		now = r.s.now()
	}
	x.u.Reset(&sc.user, now)
	recent := sc.user.Products
	if k == ctr.Rooms {
		recent = sc.user.Anchors
	}
	x.hist = ctr.History(sn.model, recent, ctrHistoryLen, x.hist)
	x.items = x.items[:0]
	for i := range cs {
		x.items = append(x.items, sn.entries[cs[i].idx].item)
	}
	x.cf = slices.Grow(x.cf[:0], len(cs))[:len(cs)]
	ctr.CFScores(sn.model, x.hist, x.items, x.cf)
	if k == ctr.Rooms {
		x.ids = x.ids[:0]
		for i := range cs {
			x.ids = append(x.ids, sn.entries[cs[i].idx].id)
		}
		x.rooms = r.s.store.Rooms(x.ids, x.rooms)
	}
	for i := range cs {
		c := &cs[i]
		e := &sn.entries[c.idx]
		if k == ctr.Rooms {
			x.u.Room(&x.x, &x.rooms[i], e.category, x.cf[i])
		} else {
			x.prod = r.s.store.Product(e.id)
			if x.prod.Category == "" {
				x.prod.Category = e.category
			}
			room := e.room
			if c.src&srcShelf != 0 && c.similar != "" {
				room = c.similar
			}
			var rf *features.RoomFeatures
			if room != "" {
				x.room = r.s.store.Room(room)
				rf = &x.room
			}
			x.u.Product(&x.x, &x.prod, rf, x.cf[i])
		}
		v := m.Predict(&x.x) * float64(e.boost) // operator boosts stay business rules
		v *= 1 + r.s.tune.WPrice*sc.user.PriceBand.Affinity(e.price)
		if c.bought {
			v *= 0.01
		}
		c.score = v
	}
	r.scorer = scorerName(a)
	return true
}

// RefreshRooms rebuilds the room snapshot now (not the product one): a
// replay that moves the service's clock faster than the wall clock calls it
// so that each request sees the live set of its moment.
func (s *Service) RefreshRooms() { s.refreshRooms() }

// learnsLeft reports whether the learned room model scores this request:
// then a room the viewer left moments ago is not excluded but scored, its
// left_recently feature weighted as training found (on simulated traffic
// one enter in eight is a return to a room left under ten minutes before,
// which the fixed exclusion can never rank).
func (r *run) learnsLeft() bool {
	return r.personal && r.s.ctrModel.Artifact().Model(ctr.Rooms) != nil
}
