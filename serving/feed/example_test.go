package feed_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/live"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/feed"
)

// The in-process feed: a features store fed with events, a catalog, and a
// viewer who follows an anchor. Without a model the feed still ranks by
// live heat, follows and category affinity.
func Example() {
	store := features.NewStore()
	t := time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)
	n := 0
	apply := func(typ tidev1.EventType, user, room, merchant string) {
		n++
		t = t.Add(time.Second)
		store.Apply(&tidev1.Event{EventId: fmt.Sprint(n), Type: typ, Ts: t.UnixMilli(), ReceivedAt: t.UnixMilli(),
			UserId: user, RoomId: room, MerchantId: merchant})
	}
	cat := feed.NewCatalog()
	cat.PutRooms(
		feed.RoomInfo{Room: live.Room{ID: "room-a", MerchantID: "shop-a", Category: "美妆"}},
		feed.RoomInfo{Room: live.Room{ID: "room-b", MerchantID: "shop-b", Category: "食品"}},
		feed.RoomInfo{Room: live.Room{ID: "room-c", MerchantID: "shop-c", Category: "女装"}},
	)
	for _, r := range []string{"room-a", "room-b", "room-c"} {
		apply(tidev1.EventType_EVENT_TYPE_STREAM_START, "", r, "shop-"+r[5:])
	}
	for i := range 5 { // room-a is the busiest
		apply(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, fmt.Sprint("viewer-", i), "room-a", "shop-a")
	}
	apply(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "viewer-9", "room-b", "shop-b")
	apply(tidev1.EventType_EVENT_TYPE_FOLLOW, "xiaoming", "room-c", "shop-c")

	svc, err := feed.New(store, feed.WithCatalog(cat))
	if err != nil {
		panic(err)
	}
	res, err := svc.Rooms(context.Background(), "xiaoming", &tidev1.RoomsRequest{PageSize: 3, Explain: true})
	if err != nil {
		panic(err)
	}
	for _, it := range res.GetItems() {
		fmt.Println(it.GetPosition(), it.GetRoomId(), it.GetReasons()[0].GetKind())
	}
	// Output:
	// 0 room-c REASON_KIND_FOLLOWED_ANCHOR
	// 1 room-a REASON_KIND_POPULAR
	// 2 room-b REASON_KIND_POPULAR
}
