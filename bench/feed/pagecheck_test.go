package main

import (
	"testing"

	"google.golang.org/protobuf/proto"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// The load generator counts the cards of a real page, and refuses a card
// without a room id and a truncated page.
func TestCountCards(t *testing.T) {
	page := &tidev1.RoomsResponse{RequestId: "f1", NextCursor: "c", Experiments: map[string]string{"e": "a"},
		Items: []*tidev1.RoomItem{
			{RoomId: "r1", Title: "one", Viewers: 3, Score: 0.5, Reasons: []*tidev1.Reason{{Detail: "x"}}},
			{RoomId: "r2", StartsAt: 1700000000000, Status: tidev1.RoomStatus_ROOM_STATUS_LIVE},
			{RoomId: "r3"},
		}}
	b, err := proto.Marshal(page)
	if err != nil {
		t.Fatal(err)
	}
	var p roomsPage
	if err := (pageCodec{}).Unmarshal(b, &p); err != nil || p.cards != 3 {
		t.Fatalf("counted %d cards (%v), want 3", p.cards, err)
	}
	if _, err := countCards(b[:len(b)-1]); err == nil {
		t.Error("a truncated page was accepted")
	}
	page.Items[1].RoomId = ""
	b, _ = proto.Marshal(page)
	if n, err := countCards(b); err == nil {
		t.Errorf("a card without a room id was accepted (%d cards)", n)
	}
	if err := (pageCodec{}).Unmarshal(b, page); err == nil {
		t.Error("unmarshalled into a message the codec does not fill")
	}
}
