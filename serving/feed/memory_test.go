package feed_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/features/eventstest"
	"github.com/tide-live/tide/features/memory"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/feed"
)

// TestFollowSurvivesRestart: a viewer follows an anchor two days ago; the
// service restarts with a 6 h replay window (the follow is older), the
// anchor's room goes live among busier rooms, and with long-term memory
// its room still leads the viewer's feed; without it, the follow is
// forgotten and popular rooms lead.
func TestFollowSurvivesRestart(t *testing.T) {
	conn, db := eventstest.Open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	var es []*tidev1.Event
	ev := func(at time.Time, typ tidev1.EventType, user, room, merchant string) {
		ms := at.UnixMilli()
		es = append(es, &tidev1.Event{EventId: fmt.Sprintf("e%d", len(es)), Type: typ, Ts: ms, ReceivedAt: ms,
			UserId: user, RoomId: room, MerchantId: merchant, LiveSessionId: room + "-s"})
	}
	old := now.Add(-48 * time.Hour)
	ev(old, tidev1.EventType_EVENT_TYPE_STREAM_START, "", "r-fav", "m-fav")
	ev(old.Add(time.Minute), tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "fan", "r-fav", "m-fav")
	ev(old.Add(2*time.Minute), tidev1.EventType_EVENT_TYPE_FOLLOW, "fan", "r-fav", "m-fav")
	ev(old.Add(time.Hour), tidev1.EventType_EVENT_TYPE_STREAM_END, "", "r-fav", "m-fav")
	start := now.Add(-20 * time.Minute)
	ev(start, tidev1.EventType_EVENT_TYPE_STREAM_START, "", "r-fav", "m-fav")
	for i := range 10 { // busier rooms
		room, m := fmt.Sprintf("r-%d", i), fmt.Sprintf("m-%d", i)
		ev(start, tidev1.EventType_EVENT_TYPE_STREAM_START, "", room, m)
		for v := range 20 - i {
			ev(start.Add(time.Duration(v+1)*time.Second), tidev1.EventType_EVENT_TYPE_ROOM_ENTER, fmt.Sprintf("bg-%d", v), room, m)
		}
	}
	eventstest.Insert(t, conn, db, es)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The restart: a new store warmed with the last 6 h only.
	store := features.NewStore()
	if _, err := features.WarmUp(ctx, store, conn, now.Add(-6*time.Hour), features.WarmUpTable(db, "events"),
		features.WarmUpClock(func() time.Time { return now.Add(time.Minute) }), features.WarmUpLogger(quiet)); err != nil {
		t.Fatal(err)
	}
	if store.User("fan").Following("m-fav") {
		t.Fatal("the 6 h warm-up knows the 2-day-old follow: the test proves nothing")
	}
	first := func(opts ...feed.Option) string {
		t.Helper()
		svc, err := feed.New(store, append(opts, feed.WithLogger(quiet))...)
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Rooms(ctx, "fan", &tidev1.RoomsRequest{PageSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) == 0 {
			t.Fatal("empty feed")
		}
		return res.Items[0].GetRoomId()
	}
	if got := first(); got == "r-fav" {
		t.Fatalf("without memory the forgotten follow still leads: the test proves nothing")
	}
	mem, err := memory.Load(ctx, conn, memory.Options{Database: db, Now: func() time.Time { return now }, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if got := first(feed.WithMemory(mem)); got != "r-fav" {
		t.Fatalf("with memory the feed leads with %s, want the followed anchor's room r-fav", got)
	}
}
