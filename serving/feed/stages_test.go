package feed

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// stageRun runs the room pipeline up to the rerank stage for user.
func (w *world) stageRun(user string) *run {
	s := w.svc
	sc := &scratch{}
	s.store.UserInto(user, &sc.user)
	sn := s.roomSnapshot()
	r := s.newRun(sn, sc, RankerPersonalised, s.tune.ExploreShare, cursor{seed: 1}, 20)
	r.profile(sn)
	r.roomCandidates()
	return r
}

func (r *run) cand(id string) *cand { return r.find(id) }

func TestCandidateSources(t *testing.T) {
	w := newWorld(t)
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_FOLLOW, "alice", 28))    // anchor m14
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "alice", 9)) // a 美妆 room
	click := w.ev(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, "alice", -1)
	click.ProductId, click.Attrs = "p1", map[string]string{"category": "数码"}
	w.apply(click)
	r := w.stageRun("alice")
	check := func(id string, src uint16, what string) {
		t.Helper()
		c := r.cand(id)
		if c == nil || c.src&src == 0 {
			t.Errorf("%s is not a candidate from %s", id, what)
		}
	}
	check(roomID(28), srcFollowed, "followed anchors")
	check(roomID(29), srcFollowed, "followed anchors")
	check(roomID(5), srcSimilar, "CF neighbours of room-09")
	if c := r.cand(roomID(5)); c != nil && c.similar != roomID(9) {
		t.Errorf("room-05 neighbours %q, want room-09", c.similar)
	}
	check(roomID(3), srcTrending, "trending in the clicked category 数码")
	check(roomID(0), srcPopular, "popular")
	check(roomID(36), srcNew, "new rooms")
	check(roomID(30), srcUpcoming, "upcoming")
	if c := r.cand(roomID(38)); c != nil {
		t.Errorf("room-38 is neither live nor announced but is a candidate (%b)", c.src)
	}
	for _, c := range r.sc.cands { // CF neighbours of a room share its category
		if c.src&srcSimilar == 0 {
			continue
		}
		e := &r.sn.entries[c.idx]
		if want := r.sn.entries[r.sn.byID[c.similar]].category; e.category != want {
			t.Errorf("neighbour %s (%s) of %s (%s)", e.id, e.category, c.similar, want)
		}
	}
	// No duplicates: each room is one candidate with all its sources.
	seen := map[int32]bool{}
	for _, c := range r.sc.cands {
		if seen[c.idx] {
			t.Fatalf("room %s is a candidate twice", r.sn.entries[c.idx].id)
		}
		seen[c.idx] = true
	}
}

func TestHydrateAndScore(t *testing.T) {
	w := newWorld(t)
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "bob", 9))
	for range 3 {
		w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, "bob", 5))
	}
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "bob", 1))
	leave := w.ev(tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, "bob", 1)
	leave.Value = 3000
	w.apply(leave)
	r := w.stageRun("bob")
	hist := r.roomHydrate()
	if len(hist) != 2 || r.sn.model.ItemName(hist[len(hist)-1].Item) != roomID(1) {
		t.Fatalf("history %v, want room-09 then room-01", hist)
	}
	if c := r.cand(roomID(5)); c == nil || c.imps != 3 {
		t.Errorf("room-05 impressions not hydrated: %+v", c)
	}
	if c := r.cand(roomID(1)); c == nil || !c.out {
		t.Errorf("room-01, just left, is not excluded: %+v", c)
	}
	r.score(hist)
	// The model prefers 美妆 rooms for a viewer of two 美妆 rooms.
	beauty, other := r.cand(roomID(13)), r.cand(roomID(12))
	if beauty == nil || other == nil || !(beauty.model > other.model) {
		t.Errorf("model score of room-13 (美妆) %v not above room-12 (女装) %v", beauty.model, other.model)
	}
	if c := r.cand(roomID(36)); c == nil || c.model <= 0 {
		t.Errorf("new room unknown to the model has no cold-start model score: %+v", c)
	}
}

func TestFollowedAnchorLiveIsSurfaced(t *testing.T) {
	w := newWorld(t)
	before := w.rooms("carol", &tidev1.RoomsRequest{PageSize: 10})
	if indexOf(before.Items, roomID(28)) >= 0 || indexOf(before.Items, roomID(29)) >= 0 {
		t.Fatal("the unpopular rooms of m14 are on the first page before any follow")
	}
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_FOLLOW, "carol", 29))
	res := w.rooms("carol", &tidev1.RoomsRequest{PageSize: 10, Explain: true})
	i := slices.IndexFunc(res.Items, func(it *tidev1.RoomItem) bool { return it.GetMerchantId() == "m14" })
	if i < 0 || i > 1 {
		t.Fatalf("followed anchor m14's live room at %d of %v, want in the first two", i, ids(res.Items))
	}
	if !hasReason(res.Items[i], tidev1.ReasonKind_REASON_KIND_FOLLOWED_ANCHOR, "m14") {
		t.Errorf("reasons %v lack FOLLOWED_ANCHOR m14", res.Items[i].GetReasons())
	}
}

func TestJustLeftRoomIsExcluded(t *testing.T) {
	w := newWorld(t)
	top := w.rooms("dave", &tidev1.RoomsRequest{PageSize: 5}).Items[0].GetRoomId()
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "dave", 0))
	leave := w.ev(tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, "dave", 0)
	leave.Value = 5000
	w.apply(leave)
	if top != roomID(0) {
		t.Fatalf("top room %s, want room-00", top)
	}
	all := w.rooms("dave", &tidev1.RoomsRequest{PageSize: 100})
	if indexOf(all.Items, roomID(0)) >= 0 {
		t.Fatalf("room-00, left just now, is in the feed at %d", indexOf(all.Items, roomID(0)))
	}
	// After the left window it may come back.
	w.store.Advance(w.store.Watermark().Add(w.svc.tune.LeftWindow + time.Minute))
	w.svc.Refresh()
	all = w.rooms("dave", &tidev1.RoomsRequest{PageSize: 100})
	if indexOf(all.Items, roomID(0)) < 0 {
		t.Fatalf("room-00 is still excluded %v after the left window", w.svc.tune.LeftWindow)
	}
}

func TestFatigueDemotesRepeatedImpressions(t *testing.T) {
	w := newWorld(t, WithTuning(func() Tuning { t := DefaultTuning(); t.ExploreShare = 0; return t }()))
	pos := func() int {
		res := w.rooms("erin", &tidev1.RoomsRequest{PageSize: 40, Explain: true})
		return indexOf(res.Items, roomID(0))
	}
	last := pos()
	if last != 0 {
		t.Fatalf("room-00 at %d before any impression, want 0", last)
	}
	for n := 1; n <= 4; n++ {
		w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, "erin", 0))
		p := pos()
		if p < last {
			t.Fatalf("after %d impressions room-00 moved up from %d to %d", n, last, p)
		}
		last = p
	}
	if last < 5 {
		t.Fatalf("after 4 impressions room-00 is still at %d", last)
	}
	res := w.rooms("erin", &tidev1.RoomsRequest{PageSize: 40, Explain: true})
	if it := res.Items[indexOf(res.Items, roomID(0))]; !hasReason(it, tidev1.ReasonKind_REASON_KIND_FATIGUE, "4") {
		t.Errorf("reasons %v lack FATIGUE 4", it.GetReasons())
	}
}

func TestDiversityConstraint(t *testing.T) {
	w := newWorld(t)
	// A viewer of many 美妆 rooms: the model wants only 美妆.
	for _, i := range []int{1, 5, 9, 13} {
		w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "fay", i))
	}
	res := w.rooms("fay", &tidev1.RoomsRequest{PageSize: 20, Explain: true})
	tune := w.svc.tune
	items := res.Items
	for i := range items {
		win := items[max(0, i-tune.DiversityWin+1) : i+1]
		cats, merchants := map[string]int{}, map[string]int{}
		for _, it := range win {
			if hasReason(it, tidev1.ReasonKind_REASON_KIND_NEW_ROOM, "") {
				continue // exploration slots are outside the limits
			}
			cats[it.GetCategory()]++
			merchants[it.GetMerchantId()]++
		}
		for c, n := range cats {
			if n > tune.MaxPerCategory {
				t.Errorf("positions %d–%d hold %d rooms of %s (limit %d): %v", i-len(win)+1, i, n, c, tune.MaxPerCategory, ids(win))
			}
		}
		for m, n := range merchants {
			if n > tune.MaxPerMerchant {
				t.Errorf("positions %d–%d hold %d rooms of %s (limit %d)", i-len(win)+1, i, n, m, tune.MaxPerMerchant)
			}
		}
	}
	beauty := 0
	for _, it := range items[:10] {
		if it.GetCategory() == "美妆" {
			beauty++
		}
	}
	if beauty < 4 {
		t.Errorf("only %d of the top 10 are 美妆 for a 美妆 viewer: diversity should spread, not erase, the preference", beauty)
	}
}

func TestPartialSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + rng.IntN(300)
		sc := &scratch{}
		l := make([]int32, n)
		for i := range n {
			sc.cands = append(sc.cands, cand{idx: int32(i), score: float64(rng.IntN(20))})
			l[i] = int32(i)
		}
		want := slices.Clone(l)
		slices.SortFunc(want, func(a, b int32) int {
			return byKey(sortKey{sc.cands[a].score, sc.cands[a].idx, a}, sortKey{sc.cands[b].score, sc.cands[b].idx, b})
		})
		k := rng.IntN(n + 5)
		sorted := sc.sortByScore(l, k)
		if !slices.Equal(l[:sorted], want[:sorted]) {
			t.Fatalf("trial %d: n=%d k=%d: top differs", trial, n, k)
		}
		sc.sortRest(l, sorted)
		if !slices.Equal(l, want) {
			t.Fatalf("trial %d: n=%d k=%d: rest differs", trial, n, k)
		}
	}
}
