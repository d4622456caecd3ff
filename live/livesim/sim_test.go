package livesim_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

var start = time.Date(2025, 6, 18, 10, 0, 0, 0, time.UTC) // 18:00 in Shanghai

func TestEventsAreValidOrderedAndUnique(t *testing.T) {
	s := livesim.New(livesim.WithSeed(7), livesim.WithStart(start))
	limits := ingest.DefaultLimits()
	ids := make(map[string]struct{}, 100_000)
	var last int64
	for i := range 100_000 {
		e := s.Next()
		if err := limits.Validate(e, time.UnixMilli(e.GetTs())); err != nil {
			t.Fatalf("event %d (%v) invalid: %v", i, e, err)
		}
		if e.GetTs() < last {
			t.Fatalf("event %d: ts %d before the previous %d", i, e.GetTs(), last)
		}
		last = e.GetTs()
		if _, dup := ids[e.GetEventId()]; dup {
			t.Fatalf("event %d: duplicate event_id %q", i, e.GetEventId())
		}
		ids[e.GetEventId()] = struct{}{}
	}
	st := s.Stats()
	t.Logf("100k events cover %s of simulated time, %d sessions, %d skipped arrivals", st.Elapsed, st.Sessions, st.Skipped)
}

func TestDeterministic(t *testing.T) {
	a := livesim.New(livesim.WithSeed(42), livesim.WithStart(start), livesim.WithUsers(2000))
	b := livesim.New(livesim.WithSeed(42), livesim.WithStart(start), livesim.WithUsers(2000))
	c := livesim.New(livesim.WithSeed(43), livesim.WithStart(start), livesim.WithUsers(2000))
	same := 0
	for i := range 20_000 {
		ea, eb, ec := a.Next(), b.Next(), c.Next()
		if !proto.Equal(ea, eb) {
			t.Fatalf("event %d differs for the same seed:\n%v\n%v", i, ea, eb)
		}
		if proto.Equal(ea, ec) {
			same++
		}
	}
	if same > 100 {
		t.Errorf("seeds 42 and 43 gave %d identical events out of 20000", same)
	}
}

// replay tracks which rooms are live from STREAM_START/STREAM_END and checks
// the causal rules of a session.
func TestTypeMixAndCausality(t *testing.T) {
	s := livesim.New(livesim.WithSeed(3), livesim.WithStart(start))
	counts := map[tidev1.EventType]int{}
	live := map[string]string{} // room → live session
	created := map[string]int64{}
	for i := range 300_000 {
		e := s.Next()
		counts[e.GetType()]++
		switch e.GetType() {
		case tidev1.EventType_EVENT_TYPE_STREAM_START:
			live[e.GetRoomId()] = e.GetLiveSessionId()
		case tidev1.EventType_EVENT_TYPE_STREAM_END:
			delete(live, e.GetRoomId())
		case tidev1.EventType_EVENT_TYPE_ROOM_ENTER, tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION:
			if live[e.GetRoomId()] != e.GetLiveSessionId() || e.GetLiveSessionId() == "" {
				t.Fatalf("event %d: %v into room %s which is not live in session %q", i, e.GetType(), e.GetRoomId(), e.GetLiveSessionId())
			}
		case tidev1.EventType_EVENT_TYPE_ORDER_CREATED:
			created[e.GetAttrs()["order_id"]] = e.GetValue()
		case tidev1.EventType_EVENT_TYPE_ORDER_PAID:
			v, ok := created[e.GetAttrs()["order_id"]]
			if !ok || v != e.GetValue() {
				t.Fatalf("event %d: ORDER_PAID %v without a matching ORDER_CREATED", i, e)
			}
		}
	}
	for _, r := range s.LiveRooms(s.Now()) {
		if _, ok := live[r]; !ok {
			t.Errorf("LiveRooms says %s is live at %s, the stream says not", r, s.Now())
		}
	}
	if n := len(s.LiveRooms(s.Now())); n != len(live) {
		t.Errorf("LiveRooms has %d rooms, the stream %d", n, len(live))
	}
	for typ := range tidev1.EventType_name {
		tt := tidev1.EventType(typ)
		switch tt {
		case tidev1.EventType_EVENT_TYPE_UNSPECIFIED, tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED,
			tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE, tidev1.EventType_EVENT_TYPE_ROOM_CHANGED,
			tidev1.EventType_EVENT_TYPE_ORDER_CANCELLED: // produced by the registry and checkout, not simulated
			continue
		}
		if counts[tt] == 0 {
			t.Errorf("no %s in 300k events", tt)
		}
	}
	c := func(tt tidev1.EventType) int { return counts[tt] }
	for _, rule := range []struct {
		name     string
		more, lt tidev1.EventType
	}{
		{"likes outnumber chats", tidev1.EventType_EVENT_TYPE_LIKE, tidev1.EventType_EVENT_TYPE_CHAT},
		{"impressions outnumber enters", tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, tidev1.EventType_EVENT_TYPE_ROOM_ENTER},
		{"enters outnumber orders", tidev1.EventType_EVENT_TYPE_ROOM_ENTER, tidev1.EventType_EVENT_TYPE_ORDER_CREATED},
		{"product impressions outnumber clicks", tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION, tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK},
		{"clicks outnumber carts", tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, tidev1.EventType_EVENT_TYPE_ADD_TO_CART},
		{"created orders outnumber paid", tidev1.EventType_EVENT_TYPE_ORDER_CREATED, tidev1.EventType_EVENT_TYPE_ORDER_PAID},
		{"paid outnumber refunded", tidev1.EventType_EVENT_TYPE_ORDER_PAID, tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED},
		{"follows outnumber unfollows", tidev1.EventType_EVENT_TYPE_FOLLOW, tidev1.EventType_EVENT_TYPE_UNFOLLOW},
	} {
		if c(rule.more) <= c(rule.lt) {
			t.Errorf("%s: %d vs %d", rule.name, c(rule.more), c(rule.lt))
		}
	}
	if d := c(tidev1.EventType_EVENT_TYPE_ROOM_ENTER) - c(tidev1.EventType_EVENT_TYPE_ROOM_LEAVE); d < 0 || d > 2000 {
		t.Errorf("enters %d vs leaves %d", c(tidev1.EventType_EVENT_TYPE_ROOM_ENTER), c(tidev1.EventType_EVENT_TYPE_ROOM_LEAVE))
	}
	for tt, n := range counts {
		t.Logf("%-32s %7d %5.2f%%", tt, n, 100*float64(n)/300_000)
	}
}

func TestDwellGrowsWithAffinity(t *testing.T) {
	s := livesim.New(livesim.WithSeed(5), livesim.WithStart(start))
	var xs, ys []float64
	enters := map[string]int{}
	for len(xs) < 20_000 {
		e := s.Next()
		switch e.GetType() {
		case tidev1.EventType_EVENT_TYPE_ROOM_LEAVE:
			xs = append(xs, s.Affinity(e.GetUserId(), e.GetRoomId()))
			ys = append(ys, math.Log(float64(e.GetValue())))
		case tidev1.EventType_EVENT_TYPE_ROOM_ENTER:
			enters[e.GetUserId()+"|"+e.GetRoomId()]++
		}
	}
	r := corr(xs, ys)
	t.Logf("corr(affinity, log dwell) = %.3f over %d leaves", r, len(xs))
	if r < 0.3 {
		t.Errorf("dwell hardly depends on affinity: correlation %.3f", r)
	}
	repeat := 0
	for _, n := range enters {
		if n > 1 {
			repeat += n - 1
		}
	}
	t.Logf("%d of %d enters are repeat visits", repeat, len(xs))
	if repeat == 0 {
		t.Error("no user came back to a room")
	}
	if a := s.Affinity("nobody", "nowhere"); a != 0 {
		t.Errorf("Affinity of unknown ids = %v", a)
	}
}

func corr(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var sxy, sxx, syy float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
		syy += (ys[i] - my) * (ys[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

func TestWithProducts(t *testing.T) {
	catalog := []livesim.Product{
		{ID: "sku-1", MerchantID: "shop-a", Category: "美妆", PriceFen: 12900, Title: "保湿补水面膜"},
		{ID: "sku-2", MerchantID: "shop-a", Category: "美妆", PriceFen: 9900, Title: "哑光口红"},
		{ID: "sku-3", MerchantID: "shop-b", Category: "食品", PriceFen: 3990, Title: "每日坚果"},
		{ID: "sku-4", MerchantID: "shop-c", Category: "茶", PriceFen: 25800, Title: "西湖龙井明前特级"},
	}
	s := livesim.New(livesim.WithProducts(catalog), livesim.WithStart(start), livesim.WithUsers(500))
	known := map[string]bool{}
	for _, p := range catalog {
		known[p.ID] = true
	}
	merchants := map[string]bool{"shop-a": true, "shop-b": true, "shop-c": true}
	for i := range 20_000 {
		e := s.Next()
		if p := e.GetProductId(); p != "" && !known[p] {
			t.Fatalf("event %d names product %q outside the catalog", i, p)
		}
		if m := e.GetMerchantId(); m != "" && !merchants[m] {
			t.Fatalf("event %d names merchant %q outside the catalog", i, m)
		}
	}
	if n := len(s.Rooms()); n < 3 {
		t.Errorf("%d rooms for 3 merchants", n)
	}
}

func TestWindows(t *testing.T) {
	s := livesim.New(livesim.WithStart(start))
	room := s.Rooms()[0]
	ws := s.Windows(room.ID, start, start.Add(7*24*time.Hour))
	if len(ws) < 3 {
		t.Fatalf("room %s is live on %d of 7 days", room.ID, len(ws))
	}
	for _, w := range ws {
		if !w.End.After(w.Start) || w.LiveSessionID == "" {
			t.Errorf("bad window %+v", w)
		}
		mid := w.Start.Add(w.End.Sub(w.Start) / 2)
		found := false
		for _, r := range s.LiveRooms(mid) {
			found = found || r == room.ID
		}
		if !found {
			t.Errorf("room %s not live in the middle of its window %+v", room.ID, w)
		}
	}
}

func TestRunPacesWithTheWallClock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for two seconds")
	}
	s := livesim.New(livesim.WithUsers(20_000))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := 0
	types := map[tidev1.EventType]int{}
	var first time.Time
	err := s.Run(ctx, 1000, 100, func(_ context.Context, batch []*tidev1.Event) error {
		now := time.Now()
		if first.IsZero() { // Run calibrates first; watch two seconds of output
			first = now
			time.AfterFunc(2*time.Second, cancel)
		}
		for _, e := range batch {
			if err := ingest.DefaultLimits().Validate(e, now); err != nil {
				return err
			}
			if ts := time.UnixMilli(e.GetTs()); ts.After(now.Add(5 * time.Millisecond)) {
				return fmt.Errorf("event handed over %s before its ts", ts.Sub(now))
			}
		}
		n += len(batch)
		for _, e := range batch {
			types[e.GetType()]++
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	t.Logf("%d events in 2s at a target of 1000/s: %v", n, types)
	if n == 0 {
		t.Fatal("no events")
	}
	// The rooms start busy: viewers already watching, not a burst of enters.
	if enters := types[tidev1.EventType_EVENT_TYPE_ROOM_ENTER]; enters > n/10 {
		t.Errorf("%d of %d events are ROOM_ENTER", enters, n)
	}
}

func BenchmarkNext(b *testing.B) {
	s := livesim.New(livesim.WithStart(start))
	b.ReportAllocs()
	for b.Loop() {
		s.Next()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// A deterministic stream of events for a benchmark or a test: the same seed,
// options and start always give the same events.
func Example() {
	sim := livesim.New(livesim.WithSeed(1), livesim.WithUsers(1000),
		livesim.WithStart(time.Date(2025, 6, 18, 12, 0, 0, 0, time.UTC))) // 20:00 in Shanghai
	show := map[tidev1.EventType]bool{
		tidev1.EventType_EVENT_TYPE_ROOM_ENTER: true, tidev1.EventType_EVENT_TYPE_CHAT: true,
		tidev1.EventType_EVENT_TYPE_ROOM_LEAVE: true, tidev1.EventType_EVENT_TYPE_ORDER_PAID: true,
	}
	for len(show) > 0 {
		e := sim.Next()
		if show[e.GetType()] {
			delete(show, e.GetType())
			fmt.Printf("%s %s user=%s room=%q value=%d text=%q\n", time.UnixMilli(e.GetTs()).UTC().Format(time.TimeOnly),
				ingest.TypeName(e.GetType()), e.GetUserId(), e.GetRoomId(), e.GetValue(), e.GetText())
		}
	}
	// Output:
	// 12:00:50 room_enter user=u_0466 room="room-m107-1" value=0 text=""
	// 12:01:27 chat user=u_0466 room="room-m107-1" value=0 text="上链接"
	// 12:02:09 room_leave user=u_0062 room="room-m026-1" value=8319 text=""
	// 12:06:34 order_paid user=u_0469 room="room-m182-1" value=3290 text=""
}
