package feed

import (
	"slices"
	"time"

	"github.com/tide-live/tide/features"
)

// buildProducts builds the product snapshot: the catalog's products and the
// model's, with their online features, shelves and the live rooms selling
// them (from the room snapshot rooms).
func (s *Service) buildProducts(rooms *snapshot) *snapshot {
	now := s.now()
	cat := s.catalog.data()
	rules := s.rules.Load()
	src, m := s.servingModel(s.productModel)
	ids := make([]string, 0, len(cat.products))
	for id := range cat.products {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if m != nil {
		for _, id := range m.ItemNames {
			if _, ok := cat.products[id]; !ok {
				ids = append(ids, id)
			}
		}
	}
	sn := &snapshot{builtAt: now, built: time.Now(), wm: s.store.Watermark().UnixMilli(), catVer: cat.version, rulesVer: rules.version,
		src: src, model: m, rooms: rooms, entries: make([]entry, 0, len(ids)), byID: make(map[string]int32, len(ids)),
		catIDs: map[string]int32{}, byRoom: map[string][]int32{}}
	merchIDs := interner{}
	heats := make([]float64, len(ids))
	trends := make([]float64, len(ids))
	var maxHeat, maxTrend float64
	seenIn := map[string]string{} // product → room, from the online features
	for _, id := range ids {
		f := s.store.Product(id)
		info := cat.products[id]
		e := entry{id: id, merchant: info.MerchantID, category: info.Category, item: -1, price: info.PriceFen}
		if e.merchant == "" {
			e.merchant = f.MerchantID
		}
		if e.category == "" {
			e.category = f.Category
		}
		e.cat, e.merch = interner(sn.catIDs).id(e.category), merchIDs.id(e.merchant)
		if m != nil {
			if it, ok := m.Item(id); ok {
				e.item = it
			}
		}
		e.boost = float32(rules.productBoost(e.id, e.merchant, e.category))
		i := len(sn.entries)
		heats[i], trends[i] = heat(f.Windows[features.Last1h], 0), heat(f.Windows[features.Last5m], 0)
		maxHeat, maxTrend = max(maxHeat, heats[i]), max(maxTrend, trends[i])
		sn.entries = append(sn.entries, e)
		sn.byID[id] = int32(i)
		if f.RoomID != "" {
			seenIn[id] = f.RoomID
		}
	}
	sn.nLive = len(sn.entries)
	for i := range sn.entries {
		e := &sn.entries[i]
		h := norm(heats[i], maxHeat)
		if e.item >= 0 {
			h = 0.6*h + 0.4*float64(m.Pop[e.item])
		}
		e.pop, e.trend = float32(h), float32(norm(trends[i], maxTrend))
	}
	// Shelves: the catalog's, else where the features last saw a product.
	for room, l := range cat.lineups {
		for _, pid := range l {
			if i, ok := sn.byID[pid]; ok {
				sn.byRoom[room] = append(sn.byRoom[room], i)
			}
		}
	}
	for pid, room := range seenIn {
		if _, ok := cat.lineups[room]; !ok {
			sn.byRoom[room] = append(sn.byRoom[room], sn.byID[pid])
		}
	}
	for room, l := range sn.byRoom {
		if _, ok := cat.lineups[room]; !ok {
			slices.Sort(l)
		}
		if rooms == nil {
			continue
		}
		if ri, live := rooms.byID[room]; live && int(ri) < rooms.nLive {
			for _, i := range l {
				if e := &sn.entries[i]; e.room == "" || e.room > room {
					e.room = room // deterministic: the smallest live room id
				}
			}
		}
	}
	sn.lists(false)
	sn.index(m)
	return sn
}

// productsStale reports whether the product snapshot should be rebuilt:
// the catalog, rules or model changed, or it is RefreshEvery old (by either
// clock; which live rooms sell a product follows the room snapshot within
// that).
func (s *Service) productsStale(sn *snapshot, now time.Time) bool {
	if sn == nil {
		return true
	}
	if time.Since(sn.built) < minRebuild {
		return false
	}
	if s.catalog.Version() != sn.catVer || s.rules.Load().version != sn.rulesVer ||
		now.Sub(sn.builtAt) >= s.tune.RefreshEvery || time.Since(sn.built) >= s.tune.RefreshEvery {
		return true
	}
	return s.productModel != nil && s.productModel.Model() != sn.src
}

// productSnapshot returns the current product snapshot (see roomSnapshot).
func (s *Service) productSnapshot() *snapshot {
	rooms := s.roomSnapshot()
	sn := s.prodSnap.Load()
	if sn == nil {
		return s.refreshProducts(rooms)
	}
	if s.productsStale(sn, s.now()) && s.buildingProducts.CompareAndSwap(false, true) {
		go func() {
			defer s.buildingProducts.Store(false)
			s.refreshProducts(s.roomSnap.Load())
		}()
	}
	return sn
}

func (s *Service) refreshProducts(rooms *snapshot) *snapshot {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	sn := s.buildProducts(rooms)
	s.prodSnap.Store(sn)
	return sn
}
