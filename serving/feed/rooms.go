package feed

import (
	"context"
	"github.com/tide-live/tide/features"
	"slices"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/serving/experiment"
)

// Rooms is FeedService.Rooms for userID: live rooms ranked for the viewer,
// then upcoming ones. Errors are Connect errors (invalid_argument,
// unauthenticated).
func (s *Service) Rooms(ctx context.Context, userID string, req *tidev1.RoomsRequest) (*tidev1.RoomsResponse, error) {
	return s.rooms(ctx, userID, req, nil)
}

// rooms is Rooms writing the response into pg, or into fresh memory for a
// nil pg.
func (s *Service) rooms(ctx context.Context, userID string, req *tidev1.RoomsRequest, pg *roomPage) (*tidev1.RoomsResponse, error) {
	if err := needUser(userID); err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	cur, err := decodeCursor(req.GetCursor(), kindRooms, 0)
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	var tm stageTimer
	tm.start(s.metrics, surfRooms)
	sc := s.getScratch()
	defer s.putScratch(sc)
	s.viewerInto(userID, &sc.user) // online + long-term memory (memory.go)
	sc.as = s.assigner.Assign(userID, SurfaceRooms, sc.as)
	variant, explore := s.variant(sc.as)
	reqID := s.newRequestID()
	if req.GetCursor() == "" {
		cur.seed = hash64(0, reqID)
	}
	sn := s.roomSnapshot()
	r := s.newRun(sn, sc, variant, explore, cur, size)
	r.profile(sn)
	r.roomCandidates()
	tm.done(stageCandidates)
	hist := r.roomHydrate()
	tm.done(stageHydrate)
	r.score(hist)
	tm.done(stageScore)
	r.rerank()
	tm.done(stageRerank)
	more := r.page(false, r.checkLive)
	var resp *tidev1.RoomsResponse
	if pg != nil {
		resp = &pg.resp
		resp.Items = r.roomItems(req.GetExplain(), pg.cards(len(sc.page)))
	} else {
		resp = &tidev1.RoomsResponse{Items: r.roomItems(req.GetExplain(), newRoomCards(len(sc.page)))}
	}
	resp.RequestId, resp.Experiments = reqID, experiment.Map(sc.as)
	if more {
		resp.NextCursor = cur.next(sc.hashes)
	}
	tm.done(stagePage)
	s.metrics.items[surfRooms].Add(float64(len(resp.Items)))
	s.expose(ctx, userID, SurfaceRooms, reqID, sc.as)
	return resp, nil
}

// roomCandidates is the candidate stage of the room feed.
func (r *run) roomCandidates() {
	sn, u, t := r.sn, &r.sc.user, r.s.tune
	for _, p := range r.rules.roomPins {
		if i, ok := sn.byID[p.RoomID]; ok && int(i) < sn.nLive {
			if c := r.add(i, srcPinned); c.pinPos < 0 {
				c.pinPos = int32(p.Position)
			}
		}
	}
	if r.personal {
		for _, f := range u.Follows {
			for _, i := range sn.byMerchant[f.ID] {
				r.add(i, srcFollowed)
			}
		}
		r.neighbours(r.modelHistory(u))
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
	for _, i := range sn.fresh[:min(len(sn.fresh), t.NewRoomCandidates)] {
		r.add(i, srcNew)
	}
	if n == len(sn.popular) { // every live room is a candidate: the feed may reach the announced ones
		for _, i := range sn.upcoming {
			r.add(i, srcUpcoming)
		}
	}
}

// roomHydrate is the hydrate stage of the room feed: the viewer's
// impressions and recently left rooms onto the candidates (whose own
// features are in the snapshot), and the model history.
func (r *run) roomHydrate() ranker.History {
	u, t := &r.sc.user, r.s.tune
	for _, e := range u.RoomImpressions {
		if c := r.find(e.ID); c != nil && c.pinPos < 0 {
			c.imps = int32(e.Count)
		}
	}
	wm := r.s.store.Watermark()
	for _, e := range u.Left {
		if wm.Sub(e.Last) > t.LeftWindow || r.learnsLeft() {
			continue
		}
		if c := r.find(e.ID); c != nil && c.pinPos < 0 {
			c.out = true
		}
	}
	var hist ranker.History
	if r.personal {
		hist = r.history(r.modelHistory(u))
	}
	r.cold = len(u.Rooms) == 0 && len(r.sc.cats) == 0 && len(u.Follows) == 0
	return hist
}

// checkLive confirms against the features store's live set that a live
// room on the page is still live: the snapshot may be a few milliseconds
// older than a STREAM_END.
func (r *run) checkLive(c *cand) bool {
	e := &r.sn.entries[c.idx]
	if e.upcoming {
		return true
	}
	if r.live == nil {
		r.live = r.s.store.LiveRoomIDs()
		r.liveSame = keyOf(r.live) == r.sn.liveKey
	}
	if r.liveSame { // no start or end since the snapshot
		return true
	}
	_, ok := slices.BinarySearch(r.live, e.id)
	return ok
}

// roomItems fills items (empty, one per card of the page) with the page's
// room cards and returns them.
func (r *run) roomItems(explain bool, items []*tidev1.RoomItem) []*tidev1.RoomItem {
	sc, sn := r.sc, r.sn
	for k, ci := range sc.page {
		c := &sc.cands[ci]
		e := &sn.entries[c.idx]
		it := items[k]
		it.RoomId, it.MerchantId, it.Category = e.id, e.merchant, e.category
		it.StartsAt, it.Position = e.startsAt, int32(r.cur.offset+k)
		if info, ok := r.s.catalog.Room(e.id); ok {
			it.Title, it.CoverUrl, it.AnchorName = info.Title, info.CoverURL, info.AnchorName
			if !e.upcoming {
				it.PullFlv, it.PullHls = info.PullFLV, info.PullHLS
			}
		}
		if e.upcoming {
			it.Status, it.LiveSessionId = tidev1.RoomStatus_ROOM_STATUS_UPCOMING, e.session
		} else {
			it.Status, it.LiveSessionId, it.Viewers = tidev1.RoomStatus_ROOM_STATUS_LIVE, e.session, e.viewers
		}
		if explain {
			it.Reasons, it.Score = r.reasons(c), c.score
		}
	}
	return items
}

// modelHistory is what the viewer engaged with in the room model's item
// space: rooms, or anchors for a model trained on anchors (WithAnchorModel).
func (r *run) modelHistory(u *features.UserFeatures) []features.Engagement {
	if r.s.roomModelByAnchor {
		return u.Anchors
	}
	return u.Rooms
}
