package feed

import (
	"math"
	"slices"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ranker"
)

// entry is one room or product of a snapshot with its precomputed,
// request-independent features.
type entry struct {
	id, merchant, category string
	session                string // rooms: the live or announced session
	room                   string // products: a live room selling it
	cat, merch             int32  // interned category and merchant (-1: unknown)
	item                   ranker.ItemID
	startsAt               int64 // ms: stream start, or announced start
	viewers                int32
	pop, trend             float32 // [0, 1]
	boost                  float32 // operator boosts
	price                  int64   // products: the catalogue's unit price in fen (0: unknown)
	isNew                  bool    // a new room: exploration and cold start
	upcoming               bool
}

// snapshot is an immutable view of the rankable rooms (live, then upcoming)
// or products, with the candidate lists precomputed: requests only read it.
// It is rebuilt when the live set, catalog, rules or model change, and at
// least every Tuning.RefreshEvery.
type snapshot struct {
	builtAt  time.Time // by the service's clock
	structAt time.Time // when the maps and indexes were built (rescore keeps them)
	built    time.Time // by the wall clock, for rebuild throttling
	wm       int64     // features watermark when built, ms
	liveKey  liveKey
	catVer   uint64
	rulesVer uint64
	src      *ranker.Model // the model in the ranker.Store when built
	model    *ranker.Model // src as the feed scores with it (see Tuning.ModelTrend)
	rooms    *snapshot     // products: the room snapshot it was built with

	entries    []entry // rooms: [0, nLive) live, then upcoming by start
	nLive      int
	byID       map[string]int32
	catIDs     map[string]int32
	byCat      [][]int32          // live entries of a category, by trend
	byMerchant map[string][]int32 // live, then upcoming rooms of an anchor
	byRoom     map[string][]int32 // products on a room's shelf
	popular    []int32            // live entries by popularity
	fresh      []int32            // new live rooms, newest first
	upcoming   []int32            // announced rooms, by start
	itemIdx    []int32            // model ItemID → entry, -1
}

// liveKey identifies the store's live-room list: the store replaces the
// slice whenever the set changes.
type liveKey struct {
	first *string
	n     int
}

func keyOf(ids []string) liveKey {
	if len(ids) == 0 {
		return liveKey{}
	}
	return liveKey{&ids[0], len(ids)}
}

// interner gives strings dense ids.
type interner map[string]int32

func (in interner) id(s string) int32 {
	if s == "" {
		return -1
	}
	if i, ok := in[s]; ok {
		return i
	}
	i := int32(len(in))
	in[s] = i
	return i
}

// heat is the popularity of a room's or product's activity in a window.
func heat(c features.Counts, viewers int) float64 {
	return math.Log1p(float64(viewers) + float64(c.Enters) + 0.2*float64(c.Chats) + 0.02*float64(c.Likes) +
		float64(c.Shares) + float64(c.Follows) + 0.5*float64(c.Clicks) + 2*float64(c.Carts) + 4*float64(c.Orders))
}

// buildRooms builds the room snapshot.
func (s *Service) buildRooms() *snapshot {
	now := s.now()
	ids := s.store.LiveRoomIDs()
	key := keyOf(ids)
	cat := s.catalog.data()
	rules := s.rules.Load()
	src, m := s.servingModel(s.roomModel)
	wm := s.store.Watermark().UnixMilli()
	feats := s.store.Rooms(ids, s.featBuf[:0])
	s.featBuf = feats
	if prev := s.roomSnap.Load(); prev != nil && prev.liveKey == key && prev.catVer == cat.version &&
		prev.rulesVer == rules.version && prev.src == src && now.Sub(prev.structAt) < fullRebuild &&
		(len(prev.upcoming) == 0 || prev.entries[prev.upcoming[0]].startsAt > now.UnixMilli()) {
		return prev.rescore(now, wm, feats, s.tune.NewRoomAge.Milliseconds())
	}
	sn := &snapshot{structAt: now, builtAt: now, built: time.Now(), wm: wm, liveKey: key, catVer: cat.version, rulesVer: rules.version, src: src, model: m,
		entries: make([]entry, 0, len(ids)), byID: make(map[string]int32, len(ids)),
		catIDs: map[string]int32{}, byMerchant: map[string][]int32{}}
	merchIDs := interner{}
	newAge := s.tune.NewRoomAge.Milliseconds()
	add := func(e entry) int32 {
		info, ok := cat.rooms[e.id]
		if ok {
			if info.MerchantID != "" {
				e.merchant = info.MerchantID
			}
			e.category = info.Category
		}
		e.cat, e.merch = interner(sn.catIDs).id(e.category), merchIDs.id(e.merchant)
		e.item = -1
		if m != nil {
			key := e.id
			if s.roomModelByAnchor {
				key = e.merchant
			}
			if it, ok := m.Item(key); ok {
				e.item = it
			}
		}
		e.boost = float32(rules.roomBoost(e.id, e.merchant, e.category))
		i := int32(len(sn.entries))
		sn.entries = append(sn.entries, e)
		sn.byID[e.id] = i
		return i
	}
	for k := range feats {
		f := &feats[k]
		if !f.Live {
			continue
		}
		add(entry{id: f.ID, merchant: f.MerchantID, session: f.LiveSessionID,
			startsAt: f.StartedAt.UnixMilli(), viewers: int32(f.ViewersNow)})
	}
	sn.nLive = len(sn.entries)
	sn.liveHeat(feats, newAge)
	for i := range sn.entries {
		if e := &sn.entries[i]; e.merchant != "" {
			sn.byMerchant[e.merchant] = append(sn.byMerchant[e.merchant], int32(i))
		}
	}
	for _, a := range cat.upcoming(now, now.Add(s.tune.UpcomingHorizon)) {
		if len(sn.upcoming) >= s.tune.UpcomingCandidates {
			break
		}
		if _, dup := sn.byID[a.RoomID]; dup {
			continue // live now, or an earlier session is already listed
		}
		f := s.store.Room(a.RoomID)
		i := add(entry{id: a.RoomID, merchant: f.MerchantID, session: a.LiveSessionID,
			startsAt: a.Start.UnixMilli(), upcoming: true})
		e := &sn.entries[i]
		if e.item >= 0 {
			e.pop = m.Pop[e.item]
		}
		sn.upcoming = append(sn.upcoming, i)
		if e.merchant != "" {
			sn.byMerchant[e.merchant] = append(sn.byMerchant[e.merchant], i)
		}
	}
	sn.lists(true)
	sn.index(m)
	return sn
}

// fullRebuild bounds how long rescore may reuse a snapshot's structure
// (new announcements enter the horizon, the watermark ages new rooms).
const fullRebuild = 30 * time.Second

// liveHeat sets the live entries' viewers, popularity, trend and newness
// from their features (feats in any order; unknown ids are skipped).
func (sn *snapshot) liveHeat(feats []features.RoomFeatures, newAge int64) {
	heats := make([]float64, sn.nLive)
	trends := make([]float64, sn.nLive)
	var maxHeat, maxTrend float64
	for k := range feats {
		f := &feats[k]
		i, ok := sn.byID[f.ID]
		if !ok || int(i) >= sn.nLive {
			continue
		}
		e := &sn.entries[i]
		heats[i], trends[i] = heat(f.Windows[features.Last5m], f.ViewersNow), heat(f.Windows[features.Last1m], 0)
		maxHeat, maxTrend = max(maxHeat, heats[i]), max(maxTrend, trends[i])
		e.viewers = int32(f.ViewersNow)
		e.isNew = (sn.model != nil && e.item < 0) || (sn.wm-e.startsAt < newAge && f.Windows[features.Last1h].Enters < 20)
	}
	for i := range sn.nLive {
		e := &sn.entries[i]
		h := norm(heats[i], maxHeat)
		if e.item >= 0 {
			h = 0.6*h + 0.4*float64(sn.model.Pop[e.item])
		}
		e.pop, e.trend = float32(h), float32(norm(trends[i], maxTrend))
	}
}

// rescore is the cheap rebuild when only time passed: the same live rooms,
// catalog, rules and model. It shares the maps and indexes of sn and
// recomputes the live entries' heat and the sorted lists.
func (sn *snapshot) rescore(now time.Time, wm int64, feats []features.RoomFeatures, newAge int64) *snapshot {
	c := *sn
	c.builtAt, c.built, c.wm = now, time.Now(), wm
	c.entries = slices.Clone(sn.entries)
	c.liveHeat(feats, newAge)
	c.lists(true)
	return &c
}

// lists builds the sorted candidate lists of the live entries.
func (sn *snapshot) lists(rooms bool) {
	live := make([]int32, sn.nLive)
	for i := range live {
		live[i] = int32(i)
	}
	keys := make([]sortKey, 0, sn.nLive)
	sortBy := func(l []int32, f func(e *entry) float64) {
		keys = keys[:0]
		for _, i := range l {
			keys = append(keys, sortKey{score: f(&sn.entries[i]), idx: i})
		}
		slices.SortFunc(keys, byKey) // ties by entry order: live rooms by id
		for k := range keys {
			l[k] = keys[k].idx
		}
	}
	sn.popular = slices.Clone(live)
	sortBy(sn.popular, func(e *entry) float64 { return float64(e.pop) })
	sn.byCat = make([][]int32, len(sn.catIDs))
	for _, i := range live {
		if c := sn.entries[i].cat; c >= 0 {
			sn.byCat[c] = append(sn.byCat[c], i)
		}
	}
	for _, l := range sn.byCat {
		sortBy(l, func(e *entry) float64 { return float64(e.trend) + 0.1*float64(e.pop) })
	}
	sn.fresh = nil
	if rooms {
		for _, i := range live {
			if sn.entries[i].isNew {
				sn.fresh = append(sn.fresh, i)
			}
		}
		sortBy(sn.fresh, func(e *entry) float64 { return float64(e.startsAt) })
	}
}

// index maps the model's items to entries.
func (sn *snapshot) index(m *ranker.Model) {
	if m == nil {
		return
	}
	sn.itemIdx = make([]int32, m.NumItems())
	for i := range sn.itemIdx {
		sn.itemIdx[i] = -1
	}
	for i := range sn.entries {
		if it := sn.entries[i].item; it >= 0 {
			sn.itemIdx[it] = int32(i)
		}
	}
}

func norm(v, mx float64) float64 {
	if mx <= 0 {
		return 0
	}
	return v / mx
}

// minRebuild spaces rebuilds of a snapshot: when many streams start at
// once, a rebuild per event would keep a core busy.
const minRebuild = 50 * time.Millisecond

// roomsStale reports whether the room snapshot should be rebuilt.
func (s *Service) roomsStale(sn *snapshot, now time.Time) bool {
	if sn == nil {
		return true
	}
	if time.Since(sn.built) < minRebuild {
		return false
	}
	if keyOf(s.store.LiveRoomIDs()) != sn.liveKey || s.catalog.Version() != sn.catVer ||
		s.rules.Load().version != sn.rulesVer || now.Sub(sn.builtAt) >= s.tune.RefreshEvery {
		return true
	}
	return s.roomModel != nil && s.roomModel.Model() != sn.src
}

// servingModel returns the model in st and the model the feed scores with.
func (s *Service) servingModel(st *ranker.Store) (src, m *ranker.Model) {
	if st == nil {
		return nil, nil
	}
	src = st.Model()
	if src == nil || s.tune.ModelTrend || src.Config.Blend.Trend == 0 {
		return src, src
	}
	b := src.Config.Blend
	b.Trend = 0
	// the re-ranker (if any) does not use the trend: it scores as evaluated
	return src, src.WithBlend(b).WithRerank(src.Rerank)
}

// roomSnapshot returns the current room snapshot, building the first one
// synchronously and later ones in the background when stale, so a request
// never waits for a rebuild.
func (s *Service) roomSnapshot() *snapshot {
	sn := s.roomSnap.Load()
	if sn == nil {
		return s.refreshRooms()
	}
	if s.roomsStale(sn, s.now()) && s.buildingRooms.CompareAndSwap(false, true) {
		go func() {
			defer s.buildingRooms.Store(false)
			s.refreshRooms()
		}()
	}
	return sn
}

// refreshRooms rebuilds the room snapshot now and returns it.
func (s *Service) refreshRooms() *snapshot {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	sn := s.buildRooms()
	s.roomSnap.Store(sn)
	s.metrics.liveRooms.Set(float64(sn.nLive))
	return sn
}
