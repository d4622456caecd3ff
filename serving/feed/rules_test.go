package feed

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

func TestPinsAndBoosts(t *testing.T) {
	w := newWorld(t)
	if err := w.svc.SetRules(Rules{
		Pins:   []Pin{{RoomID: roomID(25), Position: 0}, {RoomID: roomID(26), Position: 3}},
		Boosts: []Boost{{RoomID: roomID(23), Factor: 5}, {Category: "食品", Factor: 0.1}},
	}); err != nil {
		t.Fatal(err)
	}
	res := w.rooms("olive", &tidev1.RoomsRequest{PageSize: 10, Explain: true})
	if got := res.Items[0]; got.GetRoomId() != roomID(25) || !hasReason(got, tidev1.ReasonKind_REASON_KIND_PINNED, "0") {
		t.Errorf("position 0: %v, want pinned room-25", got)
	}
	if got := res.Items[3]; got.GetRoomId() != roomID(26) {
		t.Errorf("position 3: %v, want pinned room-26", got)
	}
	i := indexOf(res.Items, roomID(23))
	if i < 0 || i > 3 || !hasReason(res.Items[i], tidev1.ReasonKind_REASON_KIND_BOOSTED, "5") {
		t.Errorf("boosted room-23 at %d of %v", i, ids(res.Items))
	}
	for _, it := range res.Items {
		if it.GetCategory() == "食品" && !hasReason(it, tidev1.ReasonKind_REASON_KIND_PINNED, "") {
			t.Errorf("demoted 食品 room %s on the first page", it.GetRoomId())
		}
	}
	// A pin of a room that is not live is ignored.
	if err := w.svc.SetRules(Rules{Pins: []Pin{{RoomID: roomID(38), Position: 0}}}); err != nil {
		t.Fatal(err)
	}
	if got := w.rooms("olive", &tidev1.RoomsRequest{PageSize: 3}).Items[0].GetRoomId(); got == roomID(38) {
		t.Error("an offline room was pinned")
	}
}

func TestRulesValidation(t *testing.T) {
	for _, r := range []Rules{
		{Pins: []Pin{{Position: 1}}},
		{Pins: []Pin{{RoomID: "r", Position: -1}}},
		{Boosts: []Boost{{RoomID: "r", Factor: 0}}},
		{Boosts: []Boost{{Factor: 2}}},
	} {
		if err := r.Validate(); !errors.Is(err, ErrRules) {
			t.Errorf("%+v: %v, want ErrRules", r, err)
		}
	}
	path := filepath.Join(t.TempDir(), "rules.json")
	os.WriteFile(path, []byte(`{"pins":[{"room_id":"room-01","position":2}],"boosts":[{"category":"美妆","factor":1.5}]}`), 0o644)
	r, err := LoadRules(path)
	if err != nil || len(r.Pins) != 1 || r.Boosts[0].Factor != 1.5 {
		t.Fatalf("LoadRules: %+v %v", r, err)
	}
	os.WriteFile(path, []byte(`{"pin":[]}`), 0o644)
	if _, err := LoadRules(path); !errors.Is(err, ErrRules) {
		t.Errorf("unknown field: %v", err)
	}
}

func TestColdStartAndExploration(t *testing.T) {
	w := newWorld(t)
	res := w.rooms("brand-new-user", &tidev1.RoomsRequest{PageSize: 20, Explain: true})
	for _, it := range res.Items {
		if !hasReason(it, tidev1.ReasonKind_REASON_KIND_COLD_START, "") {
			t.Errorf("%s lacks COLD_START for a viewer without history", it.GetRoomId())
		}
	}
	cats := map[string]bool{}
	for _, it := range res.Items[:5] {
		cats[it.GetCategory()] = true
	}
	if len(cats) < 3 {
		t.Errorf("a new viewer's top 5 spans %d categories", len(cats))
	}
	// New rooms (unknown to the model) get exploration slots: about one in ten.
	newRooms := 0
	for _, it := range res.Items {
		if it.GetRoomId() == roomID(36) || it.GetRoomId() == roomID(37) {
			newRooms++
			if !hasReason(it, tidev1.ReasonKind_REASON_KIND_NEW_ROOM, "") {
				t.Errorf("%s lacks NEW_ROOM", it.GetRoomId())
			}
		}
	}
	if newRooms != 2 {
		t.Errorf("%d new rooms in 20 items with an exploration share of %v, want 2", newRooms, w.svc.tune.ExploreShare)
	}
	// Personalised viewers also see new rooms, scored at the mean model score.
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "pat", 4))
	res = w.rooms("pat", &tidev1.RoomsRequest{PageSize: 20, Explain: true})
	if indexOf(res.Items, roomID(36)) < 0 {
		t.Errorf("new room-36 missing from a known viewer's first 20: %v", ids(res.Items))
	}
}

func TestSimilar(t *testing.T) {
	w := productWorld(t)
	ctx := context.Background()
	res, err := w.svc.Similar(ctx, "quinn", &tidev1.SimilarRequest{RoomId: roomID(2), PageSize: 5, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rooms) != 5 || len(res.Products) != 0 || res.GetRequestId() == "" {
		t.Fatalf("similar rooms: %v", res)
	}
	for _, it := range res.Rooms {
		if it.GetRoomId() == roomID(2) {
			t.Error("a room is similar to itself")
		}
		if it.GetCategory() != "食品" {
			t.Errorf("room like a 食品 room: %s in %s (%v)", it.GetRoomId(), it.GetCategory(), it.GetReasons())
		}
		if !hasReason(it, tidev1.ReasonKind_REASON_KIND_SIMILAR_ITEM, roomID(2)) && !hasReason(it, tidev1.ReasonKind_REASON_KIND_SAME_CATEGORY, "食品") {
			t.Errorf("%s: reasons %v", it.GetRoomId(), it.GetReasons())
		}
	}
	pres, err := w.svc.Similar(ctx, "quinn", &tidev1.SimilarRequest{ProductId: productID(1, 1), PageSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range pres.Products {
		if it.GetCategory() != "美妆" || it.GetProductId() == productID(1, 1) {
			t.Errorf("product like a 美妆 product: %v", it)
		}
	}
	if len(pres.Products) != 4 {
		t.Errorf("%d similar products, want 4", len(pres.Products))
	}
}
