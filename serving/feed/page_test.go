package feed

import (
	"context"
	"slices"
	"testing"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

func TestCursorStableAcrossPages(t *testing.T) {
	w := newWorld(t)
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "gus", 9))
	p1 := w.rooms("gus", &tidev1.RoomsRequest{PageSize: 10})
	p2 := w.rooms("gus", &tidev1.RoomsRequest{PageSize: 10, Cursor: p1.GetNextCursor()})
	again := w.rooms("gus", &tidev1.RoomsRequest{PageSize: 10, Cursor: p1.GetNextCursor()})
	if !slices.Equal(ids(p2.Items), ids(again.Items)) {
		t.Fatalf("the same cursor gave two pages:\n%v\n%v", ids(p2.Items), ids(again.Items))
	}
	// Nothing changed in between: two pages of 10 are one page of 20 (with
	// the same exploration seed, which the cursor carries).
	c, _ := decodeCursor(p1.GetNextCursor(), kindRooms, 0)
	whole := w.pageWithSeed("gus", 20, c.seed)
	if got := append(ids(p1.Items), ids(p2.Items)...); !slices.Equal(got, whole) {
		t.Fatalf("pages 1+2 differ from one page of 20:\n%v\n%v", got, whole)
	}
	for k, it := range append(p1.Items, p2.Items...) {
		if int(it.GetPosition()) != k {
			t.Fatalf("item %d has position %d; positions continue across pages", k, it.GetPosition())
		}
	}
	if p1.GetRequestId() == p2.GetRequestId() {
		t.Error("two responses share a request_id")
	}

	// The ranking moves between pages: no page repeats an item.
	seen := map[string]bool{}
	for _, id := range ids(p1.Items) {
		seen[id] = true
	}
	for _, i := range []int{1, 5, 13, 17, 21} {
		w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "gus", i))
	}
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_FOLLOW, "gus", 2))
	cur := p1.GetNextCursor()
	total := len(p1.Items)
	for cur != "" {
		p := w.rooms("gus", &tidev1.RoomsRequest{PageSize: 7, Cursor: cur})
		for _, it := range p.Items {
			if seen[it.GetRoomId()] {
				t.Fatalf("%s served twice", it.GetRoomId())
			}
			seen[it.GetRoomId()] = true
			if int(it.GetPosition()) != total {
				t.Fatalf("position %d, want %d", it.GetPosition(), total)
			}
			total++
		}
		cur = p.GetNextCursor()
	}
	if want := 32 + 4; total != want { // every live and announced room once
		t.Errorf("paged through %d rooms, want %d", total, want)
	}
}

// pageWithSeed is one page of size n of a feed with the given exploration seed.
func (w *world) pageWithSeed(user string, n int, seed uint64) []string {
	c := cursor{kind: kindRooms, seed: seed}
	res := w.rooms(user, &tidev1.RoomsRequest{PageSize: int32(n), Cursor: c.encode()})
	return ids(res.Items)
}

func TestCursorErrors(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	rooms := w.rooms("hal", &tidev1.RoomsRequest{PageSize: 3})
	for _, bad := range []string{"not a cursor", rooms.GetNextCursor()[:10], productsCursor(), rooms.GetNextCursor() + "A"} {
		_, err := w.svc.Rooms(ctx, "hal", &tidev1.RoomsRequest{Cursor: bad})
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("cursor %q: %v, want invalid_argument", bad, err)
		}
	}
	// A shelf cursor is bound to its room.
	w.cat.SetLineup(roomID(0), []string{"p1", "p2", "p3"})
	w.cat.PutProducts(ProductInfo{ID: "p1"}, ProductInfo{ID: "p2"}, ProductInfo{ID: "p3"})
	w.svc.Refresh()
	shelf, err := w.svc.Products(ctx, "hal", &tidev1.ProductsRequest{RoomId: roomID(0), PageSize: 1})
	if err != nil || shelf.GetNextCursor() == "" {
		t.Fatalf("shelf page: %v %v", shelf, err)
	}
	_, err = w.svc.Products(ctx, "hal", &tidev1.ProductsRequest{RoomId: roomID(1), Cursor: shelf.GetNextCursor()})
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("room-00's shelf cursor on room-01: %v, want invalid_argument", err)
	}
}

func productsCursor() string {
	c := cursor{kind: kindProducts, seed: 3, offset: 1, served: []uint32{7}}
	return c.encode()
}

func TestCursorRoundTrip(t *testing.T) {
	c := cursor{kind: kindShelf, scope: 99, seed: 1 << 60, offset: 12}
	s := c.next([]uint32{5, 1 << 31, 3, 5})
	d, err := decodeCursor(s, kindShelf, 99)
	if err != nil {
		t.Fatal(err)
	}
	if d.seed != c.seed || d.offset != 16 || !slices.Equal(d.served, []uint32{3, 5, 1 << 31}) {
		t.Fatalf("decoded %+v", d)
	}
	if !d.isServed(5) || d.isServed(4) {
		t.Error("isServed")
	}
}
