package feed

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/serving/experiment"
)

// Products is FeedService.Products for userID: the for-you product feed, or
// with room_id the room's shelf (小黄车) ordered for the viewer. Errors are
// Connect errors (invalid_argument, not_found, unauthenticated).
func (s *Service) Products(ctx context.Context, userID string, req *tidev1.ProductsRequest) (*tidev1.ProductsResponse, error) {
	if err := needUser(userID); err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	room := req.GetRoomId()
	kind, scope, surf := kindProducts, uint32(0), surfProducts
	if room != "" {
		kind, scope, surf = kindShelf, hash32(room), surfShelf
	}
	cur, err := decodeCursor(req.GetCursor(), kind, scope)
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	var tm stageTimer
	tm.start(s.metrics, surf)
	sn := s.productSnapshot()
	if room != "" && !s.roomKnown(room, sn) {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("room_id: no room %q", room))
	}
	sc := s.getScratch()
	defer s.putScratch(sc)
	s.viewerInto(userID, &sc.user) // online + long-term memory (memory.go)
	sc.as = s.assigner.Assign(userID, SurfaceProducts, sc.as)
	variant, _ := s.variant(sc.as)
	reqID := s.newRequestID()
	r := s.newRun(sn, sc, variant, 0, cur, size)
	r.profile(sn.rooms)
	if room != "" {
		r.shelfCandidates(room)
	} else {
		r.productCandidates()
	}
	tm.done(stageCandidates)
	hist := r.productHydrate(room != "")
	tm.done(stageHydrate)
	r.score(hist)
	tm.done(stageScore)
	r.rerank()
	tm.done(stageRerank)
	more := r.page(room != "", nil)
	resp := &tidev1.ProductsResponse{RequestId: reqID, Items: r.productItems(req.GetExplain(), room),
		Experiments: experiment.Map(sc.as)}
	if more {
		resp.NextCursor = cur.next(sc.hashes)
	}
	tm.done(stagePage)
	s.metrics.items[surf].Add(float64(len(resp.Items)))
	s.expose(ctx, userID, SurfaceProducts, reqID, sc.as)
	return resp, nil
}

// roomKnown reports whether the feed knows room id from the catalog, a
// shelf, the live set or an event.
func (s *Service) roomKnown(id string, products *snapshot) bool {
	if _, ok := s.catalog.Room(id); ok {
		return true
	}
	if len(s.catalog.Lineup(id)) > 0 || len(products.byRoom[id]) > 0 {
		return true
	}
	if _, ok := products.rooms.byID[id]; ok {
		return true
	}
	return s.store.Room(id).Known
}

// productCandidates is the candidate stage of the for-you product feed.
func (r *run) productCandidates() {
	sn, u, t := r.sn, &r.sc.user, r.s.tune
	for _, p := range r.rules.productPins {
		if i, ok := sn.byID[p.ProductID]; ok {
			if c := r.add(i, srcPinned); c.pinPos < 0 {
				c.pinPos = int32(p.Position)
			}
		}
	}
	if r.personal {
		rooms := sn.rooms
		for _, f := range u.Follows { // on the shelves of followed anchors live now
			for _, ri := range rooms.byMerchant[f.ID] {
				if int(ri) >= rooms.nLive {
					continue
				}
				l := sn.byRoom[rooms.entries[ri].id]
				for _, i := range l[:min(len(l), t.TrendingPerCat)] {
					r.add(i, srcFollowed)
				}
			}
		}
		r.neighbours(u.Products)
		for k, cw := range r.sc.cats {
			if k == t.LikedCategories {
				break
			}
			l := sn.byCat[cw.cat]
			for _, i := range l[:min(len(l), t.TrendingPerCat)] {
				r.add(i, srcTrending)
			}
		}
	}
	n := min(len(sn.popular), max(t.PopularCandidates, r.cur.offset+2*r.size+50))
	for _, i := range sn.popular[:n] {
		r.add(i, srcPopular)
	}
}

// shelfCandidates is the candidate stage of a room's shelf: its products in
// the catalog's shelf order, else the products the events saw in it.
func (r *run) shelfCandidates(room string) {
	sn := r.sn
	addID := func(i int32) {
		if c := r.add(i, srcShelf); c.similar == "" {
			c.similar = room
		}
	}
	if l := r.s.catalog.Lineup(room); len(l) > 0 {
		for _, id := range l {
			if i, ok := sn.byID[id]; ok {
				addID(i)
			}
		}
	} else {
		for _, i := range sn.byRoom[room] {
			addID(i)
		}
	}
	for _, p := range r.rules.shelfPins[room] {
		if i, ok := sn.byID[p.ProductID]; ok {
			if k := r.sc.slot[i]; k > 0 && r.sc.cands[k-1].pinPos < 0 {
				r.sc.cands[k-1].pinPos = int32(p.Position)
				r.sc.cands[k-1].src |= srcPinned
			}
		}
	}
}

// productHydrate is the hydrate stage of the product feeds: impressions and
// purchases onto the candidates, and the model history. Bought products
// leave the for-you feed and go to the end of a shelf.
func (r *run) productHydrate(shelf bool) ranker.History {
	u := &r.sc.user
	for _, e := range u.ProductImpressions {
		if c := r.find(e.ID); c != nil && c.pinPos < 0 {
			c.imps = int32(e.Count)
		}
	}
	for _, e := range u.Bought {
		if c := r.find(e.ID); c != nil && c.pinPos < 0 {
			if shelf {
				c.bought = true
			} else {
				c.out = true
			}
		}
	}
	var hist ranker.History
	if r.personal {
		hist = r.history(u.Products)
	}
	r.cold = len(u.Products) == 0 && len(u.Rooms) == 0 && len(r.sc.cats) == 0
	return hist
}

// productItems builds the page's product cards.
func (r *run) productItems(explain bool, room string) []*tidev1.ProductItem {
	sc, sn := r.sc, r.sn
	backing := make([]tidev1.ProductItem, len(sc.page))
	items := make([]*tidev1.ProductItem, len(sc.page))
	for k, ci := range sc.page {
		c := &sc.cands[ci]
		e := &sn.entries[c.idx]
		it := &backing[k]
		it.ProductId, it.MerchantId, it.Category, it.RoomId = e.id, e.merchant, e.category, e.room
		if room != "" {
			it.RoomId = room
		}
		if info, ok := r.s.catalog.Product(e.id); ok {
			it.Title, it.PriceFen, it.ImageUrl = info.Title, info.PriceFen, info.ImageURL
		}
		it.Position = int32(r.cur.offset + k)
		if explain {
			it.Reasons, it.Score = r.reasons(c), c.score
		}
		items[k] = it
	}
	return items
}
