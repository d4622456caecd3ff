package feed

import (
	"fmt"
	"testing"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
)

// anchorModel is a users × anchors model as `tide train` writes it: items
// are merchant ids. Viewers of anchor m01 also watch m05, and nobody else
// pairs them.
func anchorModel(t *testing.T) *ranker.Model {
	t.Helper()
	x := ranker.NewInteractions()
	at := t0.Add(-48 * time.Hour).Unix()
	for u := range 60 {
		user := fmt.Sprintf("train-%d", u)
		if u%2 == 0 {
			x.Add(user, merchantOf(2), at, 1)
			x.Add(user, merchantOf(10), at+600, 1)
		} else {
			x.Add(user, merchantOf(20+u%8), at, 1)
			x.Add(user, merchantOf(12+u%6), at+600, 1)
		}
	}
	cfg := ranker.DefaultConfig()
	cfg.MF.Factors, cfg.MF.Iterations = 4, 2
	m, err := ranker.Train(t.Context(), x, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAnchorModelScoresRoomsByTheirAnchor(t *testing.T) {
	m := anchorModel(t)
	// keyed by room id, an anchors model knows none of the rooms
	w := newWorld(t, WithRoomModel(ranker.NewStore(m)))
	for _, e := range w.svc.roomSnapshot().entries {
		if e.item >= 0 {
			t.Fatalf("room %s mapped to an item of an anchors model served as a room model", e.id)
		}
	}

	w = newWorld(t, WithAnchorModel(ranker.NewStore(m)))
	sn := w.svc.roomSnapshot()
	mapped := 0
	for _, e := range sn.entries {
		if e.item < 0 {
			continue
		}
		mapped++
		if got := m.ItemName(e.item); got != e.merchant {
			t.Errorf("room %s of %s scored as item %s", e.id, e.merchant, got)
		}
	}
	if mapped == 0 {
		t.Fatal("no live room mapped to its anchor in the anchors model")
	}

	// a viewer of anchor m01 (room 2) gets m05's room (10) as a CF neighbour,
	// through the anchors they engaged with
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "carol", 2))
	r := w.stageRun("carol")
	similar := false
	for _, i := range []int{10, 11} { // both rooms are m05's
		if c := r.cand(roomID(i)); c != nil && c.src&srcSimilar != 0 {
			similar = true
		}
	}
	if !similar {
		t.Fatalf("no room of the co-watched anchor %s is a CF candidate for carol", merchantOf(10))
	}
	if h := r.history(r.modelHistory(&r.sc.user)); len(h) == 0 || m.ItemName(h[len(h)-1].Item) != merchantOf(2) {
		t.Fatalf("model history %v, want the anchor %s last", h, merchantOf(2))
	}
}
