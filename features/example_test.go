package features_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

func Example() {
	s := features.NewStore()
	at := time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)
	apply := func(d time.Duration, e *tidev1.Event) {
		e.ReceivedAt = at.Add(d).UnixMilli()
		e.RoomId, e.MerchantId = "room-1", "anchor-1"
		s.Apply(e)
	}
	apply(0, &tidev1.Event{Type: tidev1.EventType_EVENT_TYPE_STREAM_START, LiveSessionId: "s1"})
	apply(time.Second, &tidev1.Event{Type: tidev1.EventType_EVENT_TYPE_ROOM_ENTER, UserId: "u1"})
	apply(2*time.Second, &tidev1.Event{Type: tidev1.EventType_EVENT_TYPE_ROOM_ENTER, UserId: "u2"})
	apply(3*time.Second, &tidev1.Event{Type: tidev1.EventType_EVENT_TYPE_LIKE, UserId: "u1", Value: 12})
	apply(4*time.Second, &tidev1.Event{Type: tidev1.EventType_EVENT_TYPE_ORDER_PAID, UserId: "u2", ProductId: "p1", Value: 9900})
	apply(90*time.Second, &tidev1.Event{Type: tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, UserId: "u1", Value: 89_000})

	r := s.Room("room-1")
	fmt.Println("live:", r.Live, r.LiveSessionID, "viewers now:", r.ViewersNow)
	fmt.Println("last 1m: enters", r.Windows[features.Last1m].Enters, "likes", r.Windows[features.Last1m].Likes)
	fmt.Println("last 5m: enters", r.Windows[features.Last5m].Enters, "likes", r.Windows[features.Last5m].Likes,
		"GMV", r.Windows[features.Last5m].GMV, "fen")
	u := s.User("u1")
	fmt.Println("u1 left room-1 within 5 min:", u.LeftRecently("room-1", 5*time.Minute, s.Watermark()))
	fmt.Println("u2 bought:", s.User("u2").Bought[0].ID)
	// Output:
	// live: true s1 viewers now: 1
	// last 1m: enters 0 likes 0
	// last 5m: enters 2 likes 12 GMV 9900 fen
	// u1 left room-1 within 5 min: true
	// u2 bought: p1
}

// A serving replica seeds its store with the last hour from ClickHouse, then
// follows the topic from the boundary WarmUp returns.
func ExampleWarmUp() {
	run := func(ctx context.Context, conn driver.Conn, brokers []string) error {
		s := features.NewStore()
		cut, err := features.WarmUp(ctx, s, conn, time.Now().Add(-time.Hour))
		if err != nil {
			return err
		}
		return features.Follow(ctx, s, brokers, ingest.DefaultEventsTopic, features.From(cut))
	}
	_ = run
}
