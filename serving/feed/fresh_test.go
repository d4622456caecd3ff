package feed

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// within polls the room feed of user until cond holds, and returns how long
// that took; it fails the test after limit.
func within(t *testing.T, w *world, user string, limit time.Duration, cond func(*tidev1.RoomsResponse) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		res, err := w.svc.Rooms(context.Background(), user, &tidev1.RoomsRequest{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		if cond(res) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("not within %v", limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isLive(res *tidev1.RoomsResponse, id string) bool {
	i := indexOf(res.Items, id)
	return i >= 0 && res.Items[i].GetStatus() == tidev1.RoomStatus_ROOM_STATUS_LIVE
}

func TestFreshnessStartAndEnd(t *testing.T) {
	w := newWorld(t)
	w.rooms("ivy", &tidev1.RoomsRequest{}) // a snapshot is in place
	start := w.ev(tidev1.EventType_EVENT_TYPE_STREAM_START, "", 38)
	w.apply(start)
	d := within(t, w, "ivy", time.Second, func(r *tidev1.RoomsResponse) bool { return isLive(r, roomID(38)) })
	t.Logf("a started room is in the feed after %v", d)
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_STREAM_END, "", 0))
	d = within(t, w, "ivy", time.Second, func(r *tidev1.RoomsResponse) bool { return indexOf(r.Items, roomID(0)) < 0 })
	t.Logf("an ended room is gone after %v", d)
	// A room announced as upcoming moves to live when it starts.
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_STREAM_START, "", 30))
	within(t, w, "ivy", time.Second, func(r *tidev1.RoomsResponse) bool { return isLive(r, roomID(30)) })
}

func TestClickChangesNextFeed(t *testing.T) {
	w := newWorld(t)
	before := w.rooms("jay", &tidev1.RoomsRequest{PageSize: 10, Explain: true})
	for _, it := range before.Items {
		if hasReason(it, tidev1.ReasonKind_REASON_KIND_SIMILAR_TO_RECENT, "") {
			t.Fatalf("a new viewer's feed has CF items: %v", it)
		}
	}
	w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, "jay", 27)) // an unpopular 数码 room
	after := w.rooms("jay", &tidev1.RoomsRequest{PageSize: 10, Explain: true})
	if slices.Equal(ids(before.Items), ids(after.Items)) {
		t.Fatalf("the next feed after a click is unchanged: %v", ids(after.Items))
	}
	n := 0
	for _, it := range after.Items {
		if hasReason(it, tidev1.ReasonKind_REASON_KIND_SIMILAR_TO_RECENT, roomID(27)) {
			n++
			if it.GetCategory() != "数码" {
				t.Errorf("%s (%s) is similar to a 数码 room", it.GetRoomId(), it.GetCategory())
			}
		}
	}
	if n < 2 {
		t.Fatalf("%d rooms like room-27 on the next page, want at least 2: %v", n, ids(after.Items))
	}
	count := func(res *tidev1.RoomsResponse) int {
		c := 0
		for _, it := range res.Items {
			if it.GetCategory() == "数码" {
				c++
			}
		}
		return c
	}
	if count(after) <= count(before) {
		t.Errorf("数码 rooms on the first page: %d before the click, %d after", count(before), count(after))
	}
}

// TestFreshnessThroughKafka follows a real Kafka topic into the features
// store and measures from the broker's acknowledgement of STREAM_START and
// STREAM_END to the feed showing the change.
func TestFreshnessThroughKafka(t *testing.T) {
	brokers := testenv.Kafka(t)
	w := newWorld(t)
	topic := fmt.Sprintf("feed-fresh-%d", time.Now().UnixNano())
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ingest.EnsureTopics(ctx, cl, 1, topic); err != nil {
		t.Fatal(err)
	}
	var polls atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- features.Follow(ctx, w.store, brokers, topic, features.WithIdleAdvance(0),
			features.OnPolled(func(int) { polls.Add(1) }))
	}()
	defer func() { cancel(); <-done }()
	for polls.Load() == 0 { // Follow starts at the end of the topic: wait until it reads
		time.Sleep(10 * time.Millisecond)
	}
	w.rooms("kim", &tidev1.RoomsRequest{})
	produce := func(e *tidev1.Event) {
		e.Ts, e.ReceivedAt = w.store.Watermark().UnixMilli()+1000, 0
		b, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: ingest.Key(e), Value: b, Headers: ingest.ProducerHeaders(ingest.ProducerServer)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(w.ev(tidev1.EventType_EVENT_TYPE_STREAM_START, "", 39))
	d := within(t, w, "kim", time.Second, func(r *tidev1.RoomsResponse) bool { return isLive(r, roomID(39)) })
	t.Logf("Kafka → feed: started room shown after %v", d)
	produce(w.ev(tidev1.EventType_EVENT_TYPE_STREAM_END, "", 39))
	d = within(t, w, "kim", time.Second, func(r *tidev1.RoomsResponse) bool { return indexOf(r.Items, roomID(39)) < 0 })
	t.Logf("Kafka → feed: ended room gone after %v", d)
}
