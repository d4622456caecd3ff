package memory_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/features/eventstest"
	"github.com/tide-live/tide/features/memory"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// TestLoadAndRecall: the latest follow or unfollow decides, engagement
// becomes anchor and category strength, and Recall merges it into online
// features without losing the online ones.
func TestLoadAndRecall(t *testing.T) {
	conn, db := eventstest.Open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	var es []*tidev1.Event
	ev := func(ago time.Duration, typ tidev1.EventType, user, merchant string, attrs map[string]string) {
		ms := now.Add(-ago).UnixMilli()
		es = append(es, &tidev1.Event{EventId: fmt.Sprintf("e%d", len(es)), Type: typ, Ts: ms, ReceivedAt: ms,
			UserId: user, MerchantId: merchant, RoomId: "r-" + merchant, ProductId: attrs["product"], Attrs: attrs})
	}
	const h = time.Hour
	ev(72*h, tidev1.EventType_EVENT_TYPE_FOLLOW, "u1", "kept", nil)
	ev(70*h, tidev1.EventType_EVENT_TYPE_FOLLOW, "u1", "dropped", nil)
	ev(50*h, tidev1.EventType_EVENT_TYPE_UNFOLLOW, "u1", "dropped", nil)
	ev(30*h, tidev1.EventType_EVENT_TYPE_FOLLOW, "u2", "dropped", nil)
	for range 3 {
		ev(40*h, tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "u1", "kept", nil)
	}
	ev(20*h, tidev1.EventType_EVENT_TYPE_ORDER_PAID, "u1", "kept", map[string]string{"category": "美妆", "product": "p1"})
	eventstest.Insert(t, conn, db, es)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := memory.Load(context.Background(), conn, memory.Options{Database: db, Now: func() time.Time { return now }, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if m.Viewers() != 2 {
		t.Errorf("%d viewers remembered, want 2", m.Viewers())
	}
	online := features.UserFeatures{ID: "u1", Known: true,
		Anchors: []features.Engagement{{ID: "fresh", Last: now, Strength: 1, Count: 1}}}
	m.Recall("u1", &online)
	if !online.Following("kept") || online.Following("dropped") {
		t.Errorf("follows %+v: want kept, not dropped (unfollowed later)", online.Follows)
	}
	// The unfollowed anchor stays a past preference (its follow was
	// engagement), after the others by recency.
	if len(online.Anchors) != 3 || online.Anchors[0].ID != "fresh" || online.Anchors[1].ID != "kept" || online.Anchors[2].ID != "dropped" {
		t.Fatalf("anchors %+v: want fresh (online, most recent), kept, dropped", online.Anchors)
	}
	// 3 enters (1 each), a follow (3) and an order (5).
	if k := online.Anchors[1]; k.Strength != 11 || k.Count != 5 || !k.Last.Equal(now.Add(-20*h)) {
		t.Errorf("kept: %+v, want strength 11 from 5 events, last 20 h ago", k)
	}
	if len(online.Categories) != 1 || online.Categories[0].ID != "美妆" || online.Categories[0].Strength != 5 {
		t.Errorf("categories %+v", online.Categories)
	}
	// The in-process Builder remembers the same.
	b := memory.NewBuilder(memory.Options{})
	for _, e := range es {
		b.Add(e)
	}
	fromSQL, fromBuilder := features.UserFeatures{ID: "u1"}, features.UserFeatures{ID: "u1"}
	m.Recall("u1", &fromSQL)
	b.Memory().Recall("u1", &fromBuilder)
	if !reflect.DeepEqual(fromSQL, fromBuilder) {
		t.Errorf("builder remembers\n%+v\nClickHouse\n%+v", fromBuilder, fromSQL)
	}

	var nobody features.UserFeatures
	m.Recall("u3", &nobody)
	if nobody.Known {
		t.Error("a viewer memory never saw became known")
	}
}
