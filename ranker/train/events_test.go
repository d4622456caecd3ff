package train

import (
	"context"
	"testing"
	"time"

	"github.com/tide-live/tide/features/eventstest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// TestReplayExclude checks that the CTR replay leaves out the events that
// fail Options.Exclude (flagged traffic).
func TestReplayExclude(t *testing.T) {
	conn, db := eventstest.Open(t)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var es []*tidev1.Event
	for i, u := range []string{"u1", "bot", "u2", "bot"} {
		ms := at.Add(time.Duration(i) * time.Second).UnixMilli()
		es = append(es, &tidev1.Event{EventId: "e" + u + string(rune('0'+i)), Type: tidev1.EventType_EVENT_TYPE_ROOM_ENTER,
			Ts: ms, ReceivedAt: ms, UserId: u, RoomId: "r1"})
	}
	eventstest.Insert(t, conn, db, es)
	for _, tc := range []struct {
		exclude string
		want    []string
	}{
		{"", []string{"u1", "bot", "u2", "bot"}},
		{"user_id != 'bot'", []string{"u1", "u2"}},
	} {
		var got []string
		n, err := replayEvents(context.Background(), conn, db, "events", tc.exclude, at, at.Add(time.Minute), func(e *tidev1.Event) {
			got = append(got, e.UserId)
		})
		if err != nil {
			t.Fatal(err)
		}
		if int(n) != len(tc.want) || len(got) != len(tc.want) {
			t.Fatalf("exclude %q: replayed %v, want %v", tc.exclude, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("exclude %q: replayed %v, want %v", tc.exclude, got, tc.want)
				break
			}
		}
	}
}
