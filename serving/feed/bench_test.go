package feed

import (
	"fmt"
	"testing"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/live"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// BenchmarkBuildRooms measures a rebuild of the room snapshot with 2,000
// live rooms (run with -bench; the speed targets live in bench/feed).
func BenchmarkBuildRooms(b *testing.B) {
	store := features.NewStore()
	cat := NewCatalog()
	t := time.Now().Add(-time.Hour)
	n := 0
	var infos []RoomInfo
	for i := range 2000 {
		id := fmt.Sprintf("room-%04d", i)
		infos = append(infos, RoomInfo{Room: live.Room{ID: id, MerchantID: fmt.Sprintf("m%04d", i/2), Category: categories[i%4]}})
		n++
		store.Apply(&tidev1.Event{EventId: fmt.Sprint(n), Type: tidev1.EventType_EVENT_TYPE_STREAM_START,
			Ts: t.UnixMilli(), ReceivedAt: t.UnixMilli(), RoomId: id, MerchantId: fmt.Sprintf("m%04d", i/2)})
	}
	cat.PutRooms(infos...)
	for k := range 100_000 {
		n++
		at := time.Now().Add(-time.Duration(k%300) * time.Second).UnixMilli()
		store.Apply(&tidev1.Event{EventId: fmt.Sprint(n), Type: tidev1.EventType_EVENT_TYPE_ROOM_ENTER,
			Ts: at, ReceivedAt: at, RoomId: fmt.Sprintf("room-%04d", k%2000), UserId: fmt.Sprint("u", k%5000)})
	}
	svc, err := New(store, WithCatalog(cat))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			svc.buildRooms()
		}
	})
	b.Run("rescore", func(b *testing.B) { // only time passed: maps and indexes are reused
		svc.roomSnap.Store(svc.buildRooms())
		b.ReportAllocs()
		for b.Loop() {
			svc.buildRooms()
		}
	})
}
