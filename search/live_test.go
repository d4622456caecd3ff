package search

import (
	"slices"
	"testing"
)

// The live filter follows SetLiveShelves: a room on air puts its shelf in
// it, a catalog upsert (LiveNow false, as the catalog sends it) or a rebuild
// does not take it out, and a room that ends (or is banned) leaves at once.
func TestSetLiveShelvesFollowsTheRooms(t *testing.T) {
	ctx := t.Context()
	ix, err := New(ctx, testCatalog())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	liveIDs := func() []string { // what the live filter finds (nil when it had to relax the filter)
		resp := search(t, ix, Request{Text: "T恤", Filters: Filters{LiveOnly: true}})
		if len(resp.Relaxed) > 0 {
			return nil
		}
		got := ids(resp)
		slices.Sort(got)
		return got
	}
	if got := liveIDs(); len(got) != 0 {
		t.Fatalf("live before any room: %v", got)
	}
	if err := ix.SetLiveShelves(ctx, map[string][]string{"r2": {"t05", "t01"}, "r1": {"t01"}, "r3": {"nope"}}); err != nil {
		t.Fatal(err)
	}
	if got := liveIDs(); !slices.Equal(got, []string{"t01", "t05"}) {
		t.Fatalf("live after two rooms went on air: %v", got)
	}
	if p, _ := ix.Get("t01"); p.LiveRoomID != "r1" {
		t.Errorf("t01 is credited to %q, want r1 (first in id order)", p.LiveRoomID)
	}

	p, _ := ix.Get("t05")
	p.LiveNow, p.LiveRoomID, p.Sales = false, "", 42 // a catalog change knows nothing of rooms
	if err := ix.Upsert(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, _ := ix.Get("t05"); !got.LiveNow || got.LiveRoomID != "r2" || got.Sales != 42 {
		t.Errorf("after a catalog upsert: live=%v room=%q sales=%d", got.LiveNow, got.LiveRoomID, got.Sales)
	}
	if err := ix.Rebuild(ctx, testCatalog()); err != nil {
		t.Fatal(err)
	}
	if got := liveIDs(); !slices.Equal(got, []string{"t01", "t05"}) {
		t.Fatalf("live after a rebuild from the catalog: %v", got)
	}

	if err := ix.SetLiveShelves(ctx, map[string][]string{"r1": {"t01"}}); err != nil { // r2 ended
		t.Fatal(err)
	}
	if got := liveIDs(); !slices.Equal(got, []string{"t01"}) {
		t.Fatalf("live after r2 ended: %v", got)
	}
	if err := ix.SetLiveShelves(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := liveIDs(); len(got) != 0 {
		t.Fatalf("live after every room ended: %v", got)
	}
}
