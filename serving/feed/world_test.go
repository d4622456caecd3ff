package feed

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/live"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
)

// The test world: 40 rooms in 4 categories, two rooms per anchor (rooms 2k
// and 2k+1 share merchant m{k}, in different categories). Rooms 0–29 are
// live, with popularity falling with the room number; rooms 36 and 37 are
// new (unknown to the model) and live; rooms 30–33 are announced. The room
// model is trained on users who each watch rooms of one category, so a
// room's neighbours are rooms of its category.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

var categories = []string{"女装", "美妆", "食品", "数码"}

func roomID(i int) string     { return fmt.Sprintf("room-%02d", i) }
func merchantOf(i int) string { return fmt.Sprintf("m%02d", i/2) }
func categoryOf(i int) string { return categories[i%4] }

var (
	modelOnce sync.Once
	testModel *ranker.Model
)

// roomModel trains (once per test binary) the room model of the test world.
func roomModel(t testing.TB) *ranker.Model {
	modelOnce.Do(func() {
		rng := rand.New(rand.NewPCG(7, 7))
		x := ranker.NewInteractions()
		for u := range 400 {
			c := u % 4
			var rooms []int
			for i := c; i < 36; i += 4 {
				rooms = append(rooms, i)
			}
			rng.Shuffle(len(rooms), func(a, b int) { rooms[a], rooms[b] = rooms[b], rooms[a] })
			for k, i := range rooms[:6] {
				// popular rooms are watched more often
				if rng.IntN(40) < 40-i || k == 0 {
					x.Add(fmt.Sprintf("train-%d", u), roomID(i), t0.Add(-48*time.Hour).Unix()+int64(k*600), 0.5)
				}
			}
		}
		cfg := ranker.DefaultConfig()
		cfg.MF.Factors, cfg.MF.Iterations = 8, 4
		m, err := ranker.Train(context.Background(), x, cfg, ranker.WithVersion("test"))
		if err != nil {
			panic(err)
		}
		testModel = m
	})
	return testModel
}

type world struct {
	t     testing.TB
	store *features.Store
	svc   *Service
	cat   *Catalog
	now   time.Time // the service's wall clock
	clock time.Duration
	seq   int
}

// newWorld builds the world; opts are added to the service's options.
func newWorld(t testing.TB, opts ...Option) *world {
	t.Helper()
	w := &world{t: t, store: features.NewStore(), cat: NewCatalog(), now: t0}
	for i := range 40 {
		w.cat.PutRooms(RoomInfo{Room: live.Room{ID: roomID(i), MerchantID: merchantOf(i), Category: categoryOf(i)}})
	}
	var sched []Announcement
	for i := 30; i < 34; i++ {
		start := t0.Add(time.Duration(i-29) * time.Hour)
		sched = append(sched, Announcement{RoomID: roomID(i), LiveSessionID: roomID(i) + "-s", Start: start, End: start.Add(2 * time.Hour)})
	}
	w.cat.SetSchedule(sched)
	for i := range 40 {
		if i < 30 || i == 36 || i == 37 {
			w.apply(w.ev(tidev1.EventType_EVENT_TYPE_STREAM_START, "", i))
		}
	}
	w.clock += 30 * time.Minute // the streams are not new any more
	for v := range 30 {         // popularity falls with the room number
		for i := range 30 - v {
			w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, fmt.Sprintf("bg-%d", v), i))
		}
	}
	ms := ranker.NewStore(roomModel(t))
	base := []Option{WithRoomModel(ms), WithCatalog(w.cat), WithClock(func() time.Time { return w.now }),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}
	svc, err := New(w.store, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	svc.Refresh()
	return w
}

// ev makes an event about room i (none if i < 0) at the world's event
// clock, 100 ms after the previous one.
func (w *world) ev(typ tidev1.EventType, user string, i int) *tidev1.Event {
	w.seq++
	w.clock += 100 * time.Millisecond
	ts := t0.Add(-time.Hour + w.clock).UnixMilli()
	e := &tidev1.Event{EventId: fmt.Sprintf("e%d", w.seq), Type: typ, Ts: ts, ReceivedAt: ts, UserId: user}
	if i >= 0 {
		e.RoomId, e.MerchantId, e.LiveSessionId = roomID(i), merchantOf(i), roomID(i)+"-live"
	}
	return e
}

func (w *world) apply(es ...*tidev1.Event) {
	for _, e := range es {
		w.store.Apply(e)
	}
}

// rooms asks for a room feed page.
func (w *world) rooms(user string, req *tidev1.RoomsRequest) *tidev1.RoomsResponse {
	w.t.Helper()
	res, err := w.svc.Rooms(context.Background(), user, req)
	if err != nil {
		w.t.Fatalf("Rooms(%s): %v", user, err)
	}
	return res
}

func ids(items []*tidev1.RoomItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.GetRoomId()
	}
	return out
}

func indexOf(items []*tidev1.RoomItem, id string) int {
	return slices.IndexFunc(items, func(it *tidev1.RoomItem) bool { return it.GetRoomId() == id })
}

func hasReason(it *tidev1.RoomItem, k tidev1.ReasonKind, detail string) bool {
	for _, r := range it.GetReasons() {
		if r.GetKind() == k && (detail == "" || r.GetDetail() == detail) {
			return true
		}
	}
	return false
}
