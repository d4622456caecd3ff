package features

import (
	"fmt"
	"sync"
	"testing"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// t0 is a fixed event time on a whole hour, so bucket edges are predictable.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type ev = tidev1.Event

func at(d time.Duration) int64 { return t0.Add(d).UnixMilli() }

func mk(typ tidev1.EventType, d time.Duration, f func(e *ev)) *ev {
	e := &ev{EventId: fmt.Sprint(typ, d), Type: typ, ReceivedAt: at(d), Ts: at(d)}
	if f != nil {
		f(e)
	}
	return e
}

func enter(room, user string, d time.Duration) *ev {
	return mk(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, d, func(e *ev) { e.RoomId, e.UserId, e.MerchantId = room, user, "m-"+room })
}

func TestWindowBoundaries(t *testing.T) {
	s := NewStore()
	s.Apply(enter("r1", "u1", 0))
	s.Apply(enter("r1", "u2", 59*time.Second))
	f := s.Room("r1")
	if got := f.Windows[Last1m].Enters; got != 2 {
		t.Fatalf("at t+59s: 1m enters = %d, want 2 (t is still inside)", got)
	}
	s.Apply(enter("r1", "u3", 61*time.Second))
	f = s.Room("r1")
	if got := f.Windows[Last1m].Enters; got != 2 {
		t.Fatalf("at t+61s: 1m enters = %d, want 2 (t dropped out, t+59s and t+61s in)", got)
	}
	if got := f.Windows[Last5m].Enters; got != 3 {
		t.Fatalf("5m enters = %d, want 3", got)
	}
	if got := f.Windows[Last1h].Enters; got != 3 {
		t.Fatalf("1h enters = %d, want 3", got)
	}
	// Advancing the watermark alone decays the windows.
	s.Advance(t0.Add(61*time.Second + time.Minute))
	f = s.Room("r1")
	if f.Windows[Last1m].Enters != 0 || f.Windows[Last5m].Enters != 3 {
		t.Fatalf("after +1m idle: 1m=%d 5m=%d, want 0 and 3", f.Windows[Last1m].Enters, f.Windows[Last5m].Enters)
	}
	// The 5 min window has 5 s buckets: at t+5m54s it covers [t+55s, t+5m54s].
	s.Advance(t0.Add(5*time.Minute + 54*time.Second))
	if got := s.Room("r1").Windows[Last5m].Enters; got != 2 {
		t.Fatalf("at t+5m54s: 5m enters = %d, want 2", got)
	}
	s.Advance(t0.Add(6*time.Minute + 5*time.Second)) // covers [t+70s, t+6m05s]
	if got := s.Room("r1").Windows[Last5m].Enters; got != 0 {
		t.Fatalf("at t+6m05s: 5m enters = %d, want 0", got)
	}
	s.Advance(t0.Add(time.Hour + 2*time.Minute))
	if got := s.Room("r1").Windows[Last1h].Enters; got != 0 {
		t.Fatalf("after an hour: 1h enters = %d, want 0", got)
	}
	// The anchor counts the same enters.
	if got := s.Anchor("m-r1").Windows[Last1h]; got.Enters != 0 {
		t.Fatalf("anchor 1h = %+v", got)
	}
}

func TestWindowLateEvents(t *testing.T) {
	s := NewStore()
	s.Apply(enter("r", "a", 30*time.Second))
	s.Apply(enter("r", "b", 10*time.Second)) // late, inside every window
	s.Apply(enter("r", "c", 40*time.Second))
	s.Apply(enter("r", "d", 14*time.Second)) // late, a new bucket in the middle
	if got := s.Room("r").Windows[Last1m].Enters; got != 4 {
		t.Fatalf("1m enters = %d, want 4", got)
	}
	s.Apply(enter("r", "e", 75*time.Second)) // watermark 75s: 1m is [16s, 75s]
	if got := s.Room("r").Windows[Last1m].Enters; got != 3 {
		t.Fatalf("1m enters = %d, want 3 (30s, 40s, 75s)", got)
	}
	s.Apply(enter("r", "f", 5*time.Second)) // too late for 1m, still in 5m
	f := s.Room("r")
	if f.Windows[Last1m].Enters != 3 || f.Windows[Last5m].Enters != 6 {
		t.Fatalf("1m=%d 5m=%d, want 3 and 6", f.Windows[Last1m].Enters, f.Windows[Last5m].Enters)
	}
}

func TestCountsPerEntity(t *testing.T) {
	s := NewStore()
	room := func(e *ev) { e.RoomId, e.MerchantId, e.UserId = "r", "m", "u" }
	prod := func(e *ev) { room(e); e.ProductId = "p" }
	s.ApplyBatch([]*ev{
		mk(tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, 0, room),
		mk(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, 1*time.Second, room),
		mk(tidev1.EventType_EVENT_TYPE_CHAT, 2*time.Second, func(e *ev) { room(e); e.Text = "hi" }),
		mk(tidev1.EventType_EVENT_TYPE_LIKE, 3*time.Second, func(e *ev) { room(e); e.Value = 7 }),
		mk(tidev1.EventType_EVENT_TYPE_GIFT, 4*time.Second, func(e *ev) { room(e); e.Value = 990 }),
		mk(tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION, 5*time.Second, prod),
		mk(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, 6*time.Second, prod),
		mk(tidev1.EventType_EVENT_TYPE_ADD_TO_CART, 7*time.Second, func(e *ev) { prod(e); e.Value = 5000 }),
		mk(tidev1.EventType_EVENT_TYPE_ORDER_CREATED, 8*time.Second, func(e *ev) { prod(e); e.Value = 5000 }),
		mk(tidev1.EventType_EVENT_TYPE_ORDER_PAID, 9*time.Second, func(e *ev) { prod(e); e.Value = 4900 }),
		mk(tidev1.EventType_EVENT_TYPE_FOLLOW, 10*time.Second, room),
	})
	r := s.Room("r").Windows[Last1m]
	want := Counts{Impressions: 1, Enters: 1, Chats: 1, Likes: 7, Gifts: 990, Clicks: 1, Carts: 1, Orders: 1, GMV: 4900, Follows: 1}
	if r != want {
		t.Fatalf("room 1m = %+v\nwant %+v", r, want)
	}
	if a := s.Anchor("m").Windows[Last1h]; a != want {
		t.Fatalf("anchor 1h = %+v\nwant %+v", a, want)
	}
	p := s.Product("p")
	wantP := Counts{Impressions: 1, Clicks: 1, Carts: 1, Orders: 1, GMV: 4900}
	if p.Windows[Last5m] != wantP || p.RoomID != "r" || p.MerchantID != "m" {
		t.Fatalf("product = %+v\nwant windows %+v", p, wantP)
	}
	if f := s.Room("nope"); f.Known || f.ID != "nope" {
		t.Fatalf("unknown room = %+v", f)
	}
}

func TestViewersNow(t *testing.T) {
	s := NewStore(WithViewerTimeout(10 * time.Minute))
	s.Apply(enter("r", "a", 0))
	s.Apply(enter("r", "b", time.Second))
	s.Apply(enter("r", "b", 2*time.Second)) // re-enter: still one viewer
	s.Apply(enter("r", "c", 3*time.Second))
	if n := s.Room("r").ViewersNow; n != 3 {
		t.Fatalf("viewers = %d, want 3", n)
	}
	s.Apply(mk(tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, 4*time.Second, func(e *ev) { e.RoomId, e.UserId, e.Value = "r", "b", 3000 }))
	if n := s.Room("r").ViewersNow; n != 2 {
		t.Fatalf("after b left: viewers = %d, want 2", n)
	}
	// c chats at 8 min: c stays; a is silent and times out at 10 min.
	s.Apply(mk(tidev1.EventType_EVENT_TYPE_CHAT, 8*time.Minute, func(e *ev) { e.RoomId, e.UserId, e.Text = "r", "c", "好" }))
	s.Advance(t0.Add(10*time.Minute + 30*time.Second))
	s.Apply(enter("other", "z", 10*time.Minute+31*time.Second)) // any event lets the sweep run
	if n := s.Room("r").ViewersNow; n != 1 {
		t.Fatalf("after a's timeout: viewers = %d, want 1 (c)", n)
	}
	s.Advance(t0.Add(19 * time.Minute))
	if n := s.Room("r").ViewersNow; n != 0 {
		t.Fatalf("after c's timeout: viewers = %d, want 0", n)
	}
	// A stream end empties the room.
	s.Apply(enter("r", "d", 19*time.Minute+time.Second))
	s.Apply(mk(tidev1.EventType_EVENT_TYPE_STREAM_END, 19*time.Minute+2*time.Second, func(e *ev) { e.RoomId = "r" }))
	if n := s.Room("r").ViewersNow; n != 0 {
		t.Fatalf("after stream end: viewers = %d, want 0", n)
	}
}

func TestLiveStatus(t *testing.T) {
	s := NewStore()
	start := func(room, sess string, d time.Duration) *ev {
		return mk(tidev1.EventType_EVENT_TYPE_STREAM_START, d, func(e *ev) { e.RoomId, e.MerchantId, e.LiveSessionId = room, "m", sess })
	}
	end := func(room, sess string, d time.Duration) *ev {
		return mk(tidev1.EventType_EVENT_TYPE_STREAM_END, d, func(e *ev) { e.RoomId, e.MerchantId, e.LiveSessionId = room, "m", sess })
	}
	s.Apply(start("r1", "s1", 0))
	s.Apply(start("r2", "s9", time.Second))
	f := s.Room("r1")
	if !f.Live || f.LiveSessionID != "s1" || !f.StartedAt.Equal(t0) {
		t.Fatalf("after start: %+v", f)
	}
	if ids := s.LiveRoomIDs(); len(ids) != 2 || ids[0] != "r1" || ids[1] != "r2" {
		t.Fatalf("live rooms = %v", ids)
	}
	if a := s.Anchor("m"); a.LiveRooms != 2 || a.LiveRoomID != "r2" {
		t.Fatalf("anchor = %+v", a)
	}
	s.Apply(end("r1", "s0", time.Minute)) // an older session's end: ignored
	if !s.Room("r1").Live {
		t.Fatal("end of another session ended the live one")
	}
	s.Apply(end("r1", "s1", 2*time.Minute))
	f = s.Room("r1")
	if f.Live || !f.EndedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after end: %+v", f)
	}
	s.Apply(start("r1", "s1", 30*time.Second)) // a late start of the ended session: ignored
	if s.Room("r1").Live {
		t.Fatal("a late STREAM_START re-opened an ended stream")
	}
	s.Apply(start("r1", "s2", 3*time.Minute))
	if f := s.Room("r1"); !f.Live || f.LiveSessionID != "s2" {
		t.Fatalf("new session: %+v", f)
	}
	if lr := s.LiveRooms(); len(lr) != 2 || lr[0].ID != "r1" || !lr[0].Live {
		t.Fatalf("LiveRooms = %+v", lr)
	}
	s.Apply(end("r2", "", 4*time.Minute)) // no session id: not r2's end
	if !s.Room("r2").Live {
		t.Fatal("an end without a session id ended r2")
	}
	s.Apply(end("r2", "s9", 4*time.Minute))
	if a := s.Anchor("m"); a.LiveRooms != 1 || a.LiveRoomID != "r1" {
		t.Fatalf("anchor after r2 ended = %+v", a)
	}
}

type catalog map[string]string

func (c catalog) Category(id string) string { return c[id] }

func TestUserFeatures(t *testing.T) {
	s := NewStore(WithCatalog(catalog{"p2": "美妆"}))
	u := func(e *ev) { e.UserId = "u" }
	s.ApplyBatch([]*ev{
		mk(tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, 0, func(e *ev) { u(e); e.RoomId = "r1" }),
		mk(tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, time.Second, func(e *ev) { u(e); e.RoomId = "r1" }),
		mk(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, 2*time.Second, func(e *ev) { u(e); e.RoomId, e.MerchantId = "r1", "m1" }),
		mk(tidev1.EventType_EVENT_TYPE_FOLLOW, 3*time.Second, func(e *ev) { u(e); e.RoomId, e.MerchantId = "r1", "m1" }),
		mk(tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, 4*time.Minute, func(e *ev) { u(e); e.RoomId, e.MerchantId, e.Value = "r1", "m1", 240_000 }),
		mk(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, 5*time.Minute, func(e *ev) { u(e); e.RoomId, e.MerchantId = "r2", "m2" }),
		mk(tidev1.EventType_EVENT_TYPE_FOLLOW, 5*time.Minute, func(e *ev) { u(e); e.MerchantId = "m2" }),
		mk(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, 6*time.Minute, func(e *ev) {
			u(e)
			e.ProductId, e.MerchantId, e.Attrs = "p1", "m2", map[string]string{"category": "食品"}
		}),
		mk(tidev1.EventType_EVENT_TYPE_ADD_TO_CART, 7*time.Minute, func(e *ev) { u(e); e.ProductId, e.MerchantId = "p2", "m2" }),
		mk(tidev1.EventType_EVENT_TYPE_ORDER_PAID, 8*time.Minute, func(e *ev) {
			u(e)
			e.ProductId, e.MerchantId, e.Value, e.Attrs = "p2", "m2", 1000, map[string]string{"order_id": "o1"}
		}),
		mk(tidev1.EventType_EVENT_TYPE_UNFOLLOW, 9*time.Minute, func(e *ev) { u(e); e.MerchantId = "m2" }),
	})
	f := s.User("u")
	if !f.Known {
		t.Fatal("unknown user")
	}
	ids := func(l []Engagement) (out []string) {
		for _, e := range l {
			out = append(out, e.ID)
		}
		return out
	}
	if got := fmt.Sprint(ids(f.Rooms)); got != "[r2 r1]" {
		t.Errorf("rooms = %s, want [r2 r1]", got)
	}
	// r1: enter 1 + follow 3 + dwell 4 min × 0.5 = 6.
	if r1 := f.Rooms[1]; r1.Strength != 6 || r1.Count != 3 {
		t.Errorf("r1 = %+v, want strength 6 over 3 events", r1)
	}
	if got := fmt.Sprint(ids(f.Products)); got != "[p2 p1]" {
		t.Errorf("products = %s", got)
	}
	if f.Products[0].Strength != 8 { // cart 3 + order 5
		t.Errorf("p2 strength = %v, want 8", f.Products[0].Strength)
	}
	if got := fmt.Sprint(ids(f.Categories)); got != "[美妆 食品]" {
		t.Errorf("categories = %s", got)
	}
	if got := fmt.Sprint(ids(f.Anchors)); got != "[m2 m1]" {
		t.Errorf("anchors = %s", got)
	}
	if !f.Following("m1") || f.Following("m2") {
		t.Errorf("follows = %v, want m1 only (m2 unfollowed)", ids(f.Follows))
	}
	if !f.LeftRecently("r1", 10*time.Minute, t0.Add(9*time.Minute)) || f.LeftRecently("r1", time.Minute, t0.Add(9*time.Minute)) {
		t.Errorf("left = %+v", f.Left)
	}
	if f.Left[0].Strength != 240 {
		t.Errorf("dwell = %v s, want 240", f.Left[0].Strength)
	}
	if got := fmt.Sprint(ids(f.Bought)); got != "[p2]" {
		t.Errorf("bought = %s", got)
	}
	if n := f.Impressions("r1", true); n != 2 {
		t.Errorf("r1 impressions = %d, want 2", n)
	}
	if n := f.Impressions("r1", false); n != 0 {
		t.Errorf("product r1 impressions = %d, want 0", n)
	}
}

func TestUserListsBounded(t *testing.T) {
	s := NewStore(WithUserLimits(UserLimits{Recent: 3, Follows: 2, Left: 2, Bought: 2, Impressions: 2, ImpressionReset: time.Minute}))
	for i := range 10 {
		d := time.Duration(i) * time.Second
		s.Apply(enter(fmt.Sprint("r", i), "u", d))
		s.Apply(mk(tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, d, func(e *ev) { e.UserId, e.RoomId = "u", fmt.Sprint("r", i%2) }))
		s.Apply(mk(tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION, d, func(e *ev) { e.UserId, e.ProductId = "u", fmt.Sprint("p", i) }))
	}
	f := s.User("u")
	if len(f.Rooms) != 3 || f.Rooms[0].ID != "r9" || f.Rooms[2].ID != "r7" {
		t.Fatalf("rooms = %+v", f.Rooms)
	}
	if len(f.RoomImpressions) != 2 || f.RoomImpressions[0].ID != "r1" || f.RoomImpressions[0].Count != 5 {
		t.Fatalf("impressions = %+v", f.RoomImpressions)
	}
	if len(f.ProductImpressions) != 2 || f.ProductImpressions[0].ID != "p9" {
		t.Fatalf("product impressions = %+v", f.ProductImpressions)
	}
	// A gap longer than ImpressionReset restarts the streak.
	s.Apply(mk(tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, 5*time.Minute, func(e *ev) { e.UserId, e.RoomId = "u", "r0" }))
	if n := s.User("u").Impressions("r0", true); n != 1 {
		t.Fatalf("after a gap: %d impressions, want 1", n)
	}
}

func TestEviction(t *testing.T) {
	s := NewStore(WithTTL(10*time.Minute, time.Hour), WithUserTTL(20*time.Minute), WithSweepEvery(time.Second))
	s.Apply(enter("idle", "u1", 0))
	s.Apply(mk(tidev1.EventType_EVENT_TYPE_STREAM_START, 0, func(e *ev) { e.RoomId, e.MerchantId = "live", "m" }))
	s.Apply(mk(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, 0, func(e *ev) { e.ProductId, e.UserId = "p", "u2" }))
	s.Advance(t0.Add(11 * time.Minute))
	st := s.Stats()
	if s.Room("idle").Known || s.Product("p").Known || !s.Room("live").Known || st.Rooms != 1 {
		t.Fatalf("after 11 min: idle room %v, product %v, live room %v; stats %+v",
			s.Room("idle").Known, s.Product("p").Known, s.Room("live").Known, st)
	}
	if !s.User("u1").Known {
		t.Fatal("user evicted before its TTL")
	}
	s.Advance(t0.Add(21 * time.Minute))
	if s.User("u1").Known || s.Stats().Users != 0 {
		t.Fatal("user not evicted after its TTL")
	}
	s.Advance(t0.Add(61 * time.Minute))
	if s.Room("live").Known || len(s.LiveRoomIDs()) != 0 || s.Anchor("m").LiveRooms != 0 {
		t.Fatalf("a live room silent past the live TTL is still kept: %+v", s.Room("live"))
	}
	if st := s.Stats(); st.Evicted != 5 { // idle, p, live, u1, u2 (+ anchor m)
		t.Logf("evicted %d", st.Evicted)
	}
}

func TestEvictionCap(t *testing.T) {
	s := NewStore(WithMaxEntities(10, 5), WithSweepEvery(time.Second))
	for i := range 30 {
		s.Apply(enter(fmt.Sprint("r", i), fmt.Sprint("u", i), time.Duration(i)*time.Second))
	}
	s.Advance(t0.Add(time.Minute))
	st := s.Stats()
	if st.Rooms > 10 || st.Users > 5 {
		t.Fatalf("caps not enforced: %+v", st)
	}
	if !s.Room("r29").Known || s.Room("r0").Known {
		t.Fatal("the cap evicted the wrong rooms")
	}
}

func TestConcurrentReadersOneWriter(t *testing.T) {
	s := NewStore()
	const n = 20000
	var wg sync.WaitGroup
	done := make(chan struct{})
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := []string{"r0", "r1", "r2", "r3"}
			var buf []RoomFeatures
			for {
				select {
				case <-done:
					return
				default:
				}
				buf = s.Rooms(ids, buf)
				_ = s.User(fmt.Sprint("u", r))
				_ = s.LiveRooms()
				_ = s.Anchor("m-r1")
			}
		}()
	}
	for i := range n {
		d := time.Duration(i) * 10 * time.Millisecond
		room := fmt.Sprint("r", i%4)
		s.Apply(enter(room, fmt.Sprint("u", i%7), d))
		if i%1000 == 0 {
			s.Apply(mk(tidev1.EventType_EVENT_TYPE_STREAM_START, d, func(e *ev) { e.RoomId = room }))
		}
	}
	close(done)
	wg.Wait()
	var total int64
	for i := range 4 {
		total += s.Room(fmt.Sprint("r", i)).Windows[Last5m].Enters
	}
	if total != n {
		t.Fatalf("5m enters over 4 rooms = %d, want %d", total, n)
	}
}

// A STREAM_END ends a room only when it is the end of that room's session.
func TestStreamEndNeedsTheLiveSession(t *testing.T) {
	ev := func(typ tidev1.EventType, merchant, sess string, d time.Duration) *tidev1.Event {
		return mk(typ, d, func(e *tidev1.Event) { e.RoomId, e.MerchantId, e.LiveSessionId = "r", merchant, sess })
	}
	start := func(m, s string) *tidev1.Event { return ev(tidev1.EventType_EVENT_TYPE_STREAM_START, m, s, 0) }
	end := func(m, s string) *tidev1.Event { return ev(tidev1.EventType_EVENT_TYPE_STREAM_END, m, s, time.Minute) }
	for _, c := range []struct {
		name     string
		start    *tidev1.Event // nil: the room was never seen live
		end      *tidev1.Event
		wantLive bool
		// the merchant_id a viewer's event in the room names (its client chose it)
		viewerNames string
	}{
		{"own session", start("m", "s1"), end("m", "s1"), false, ""},
		{"own session, no merchant on the end", start("m", "s1"), end("", "s1"), false, ""},
		{"empty session id", start("m", "s1"), end("m", ""), true, ""},
		{"empty session id and merchant", start("m", "s1"), end("", ""), true, ""},
		{"another session", start("m", "s1"), end("m", "s0"), true, ""},
		{"another merchant, same session id", start("m", "s1"), end("m2", "s1"), true, ""},
		{"another merchant, empty session id", start("m", "s1"), end("m2", ""), true, ""},
		{"start without a session, end without one", start("m", ""), end("m", ""), false, ""},
		{"start without a session, end of a named one", start("m", ""), end("m", "s1"), true, ""},
		{"never live: the end is recorded", nil, end("m", "s1"), false, ""},
		// a viewer's event naming another merchant does not re-own the room
		{"own session after a viewer named m2", start("m", "s1"), end("m", "s1"), false, "m2"},
		{"session-less end after a viewer named m2", start("m", "s1"), end("m2", ""), true, "m2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewStore()
			if c.start != nil {
				s.Apply(c.start)
				s.Apply(mk(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, time.Second, func(e *tidev1.Event) {
					e.RoomId, e.UserId, e.MerchantId = "r", "viewer", c.viewerNames
				}))
			}
			s.Apply(c.end)
			f := s.Room("r")
			if f.Live != c.wantLive {
				t.Fatalf("live = %v, want %v", f.Live, c.wantLive)
			}
			if c.start == nil {
				return
			}
			live := len(s.LiveRoomIDs()) == 1
			if live != c.wantLive {
				t.Errorf("in the live-room index = %v, want %v", live, c.wantLive)
			}
			if c.wantLive && f.ViewersNow != 1 {
				t.Errorf("an ignored end emptied the room: viewers = %d", f.ViewersNow)
			}
			if a := s.Anchor("m"); c.wantLive && a.LiveRooms != 1 {
				t.Errorf("anchor m: live rooms = %d, want 1", a.LiveRooms)
			}
			if a := s.Anchor("m2"); a.LiveRooms != 0 {
				t.Errorf("anchor m2 owns %d live rooms after its end", a.LiveRooms)
			}
		})
	}
}
