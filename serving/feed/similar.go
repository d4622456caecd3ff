package feed

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/experiment"
)

// Similar is FeedService.Similar for userID: live rooms like a room, or
// products like a product, from the model's item neighbours, then the same
// category. Errors are Connect errors (invalid_argument, not_found,
// unauthenticated).
func (s *Service) Similar(ctx context.Context, userID string, req *tidev1.SimilarRequest) (*tidev1.SimilarResponse, error) {
	if err := needUser(userID); err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	room, prod := req.GetRoomId(), req.GetProductId()
	if (room == "") == (prod == "") {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("set exactly one of room_id and product_id"))
	}
	var tm stageTimer
	tm.start(s.metrics, surfSimilar)
	var sn *snapshot
	var category string
	if room != "" {
		sn = s.roomSnapshot()
		var ok bool
		if category, ok = s.roomCategory(room, sn); !ok {
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("room_id: no room %q", room))
		}
	} else {
		sn = s.productSnapshot()
		i, ok := sn.byID[prod]
		if !ok {
			if f := s.store.Product(prod); !f.Known {
				return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("product_id: no product %q", prod))
			} else {
				category = f.Category
			}
		} else {
			category = sn.entries[i].category
		}
	}
	sc := s.getScratch()
	defer s.putScratch(sc)
	s.store.UserInto(userID, &sc.user)
	sc.as = s.assigner.Assign(userID, SurfaceSimilar, sc.as)
	variant, _ := s.variant(sc.as)
	reqID := s.newRequestID()
	r := s.newRun(sn, sc, variant, 0, cursor{}, size)
	r.maxItems, r.anyCat = size, true
	if room != "" {
		r.profile(sn)
	} else {
		r.profile(sn.rooms)
	}
	r.similarCandidates(room+prod, category)
	tm.done(stageCandidates)
	tm.done(stageHydrate) // the candidates' features are in the snapshot
	r.scoreSimilar()
	tm.done(stageScore)
	r.rerank()
	tm.done(stageRerank)
	resp := &tidev1.SimilarResponse{RequestId: reqID, Experiments: experiment.Map(sc.as)}
	if room != "" {
		r.page(false, r.checkLive)
		resp.Rooms = r.roomItems(req.GetExplain(), newRoomCards(len(sc.page)))
	} else {
		r.page(false, nil)
		resp.Products = r.productItems(req.GetExplain(), "")
	}
	tm.done(stagePage)
	s.metrics.items[surfSimilar].Add(float64(len(resp.Rooms) + len(resp.Products)))
	s.expose(ctx, userID, SurfaceSimilar, reqID, sc.as)
	return resp, nil
}

// roomCategory finds a room and its category.
func (s *Service) roomCategory(id string, sn *snapshot) (string, bool) {
	if i, ok := sn.byID[id]; ok {
		return sn.entries[i].category, true
	}
	if info, ok := s.catalog.Room(id); ok {
		return info.Category, true
	}
	if s.store.Room(id).Known {
		return "", true
	}
	if m := sn.model; m != nil {
		if _, ok := m.Item(id); ok {
			return "", true
		}
	}
	return "", false
}

// similarCandidates is the candidate stage of Similar: the item's model
// neighbours (sequential and co-occurrence, the stronger weight kept), the
// best of its category, and popular items to fill.
func (r *run) similarCandidates(id, category string) {
	sn, t := r.sn, r.s.tune
	if m := sn.model; m != nil {
		if it, ok := m.Item(id); ok {
			for rel := range 2 {
				nbr, ws := m.NN.Seq.Row(int32(it))
				if rel == 1 {
					nbr, ws = m.NN.Co.Row(int32(it))
				}
				for j, b := range nbr {
					if i := sn.itemIdx[b]; i >= 0 && int(i) < sn.nLive {
						c := r.add(i, srcSimilarItem)
						c.similar = id
						c.model = max(c.model, float64(ws[j]))
					}
				}
			}
		}
	}
	if c, ok := sn.catIDs[category]; ok {
		l := sn.byCat[c]
		for _, i := range l[:min(len(l), 2*t.TrendingPerCat)] {
			if c := r.add(i, srcSameCategory); c.similar == "" {
				c.similar = id
			}
		}
	}
	for _, i := range sn.popular[:min(len(sn.popular), 2*r.size)] {
		r.add(i, srcPopular)
	}
	if c := r.find(id); c != nil {
		c.out = true
	}
}

// scoreSimilar is the scoring stage of Similar: neighbour weight (scaled to
// [0, 1]), same category, popularity and, personalised, the viewer's
// category affinity.
func (r *run) scoreSimilar() {
	cs, sn, t := r.sc.cands, r.sn, r.s.tune
	var mx float64
	for k := range cs {
		mx = max(mx, cs[k].model)
	}
	for k := range cs {
		c := &cs[k]
		e := &sn.entries[c.idx]
		v := 0.3 * float64(e.pop)
		if c.src&srcSameCategory != 0 {
			v += 0.3
		}
		if r.personal {
			v += t.WModel*norm(c.model, mx) + 0.2*r.catAffinity(e.cat)
		} else {
			v += float64(e.pop)
		}
		c.score = v * float64(e.boost)
	}
}
