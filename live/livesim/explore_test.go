package livesim

import (
	"testing"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// The exploration slice shows about its share of pages, drawn without
// regard to popularity, and a zero share changes nothing.
func TestExploreShare(t *testing.T) {
	start := time.Date(2025, 6, 1, 16, 0, 0, 0, time.UTC)
	opts := []Option{WithSeed(5), WithUsers(2000), WithMerchants(60), WithStart(start)}
	plain, zero := New(opts...), New(append(opts, WithExploreShare(0))...)
	for range 20000 {
		a, b := plain.Next(), zero.Next()
		if a.GetEventId() != b.GetEventId() || a.GetType() != b.GetType() || a.GetRoomId() != b.GetRoomId() {
			t.Fatalf("share 0 changed the simulation: %v vs %v", a, b)
		}
	}

	sim := New(append(opts, WithExploreShare(0.3))...)
	pop := map[string]float64{}
	for _, r := range sim.Rooms() {
		pop[r.ID] = r.Popularity
	}
	pages := map[string]bool{} // request → explored
	var popSum [2]float64
	var imps [2]int
	end := start.Add(12 * time.Hour).UnixMilli()
	for e := sim.Next(); e.GetTs() < end; e = sim.Next() {
		if e.GetType() != tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION {
			continue
		}
		x := e.GetAttrs()[AttrExposure] == ExposureExplore
		pages[e.GetRequestId()] = x
		k := 0
		if x {
			k = 1
		}
		popSum[k] += pop[e.GetRoomId()]
		imps[k]++
	}
	explored := 0
	for _, x := range pages {
		if x {
			explored++
		}
	}
	share := float64(explored) / float64(len(pages))
	if share < 0.25 || share > 0.35 {
		t.Fatalf("%d of %d pages explored (%.3f), want about 0.3", explored, len(pages), share)
	}
	organic, random := popSum[0]/float64(imps[0]), popSum[1]/float64(imps[1])
	t.Logf("mean popularity of shown rooms: organic %.4f, explore %.4f", organic, random)
	if random >= organic {
		t.Fatalf("explored rooms are as popular as organic ones (%.4f vs %.4f): not drawn at random", random, organic)
	}
}
