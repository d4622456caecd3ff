package fraud

import (
	"strconv"
	"testing"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// t0 is the start of every synthetic log.
var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).UnixMilli()

const (
	sec = int64(1000)
	min = 60 * sec
)

// ev builds an event at t0+at ms.
func ev(typ tidev1.EventType, at int64, user, device, room string, attrs ...string) *tidev1.Event {
	e := &tidev1.Event{Type: typ, Ts: t0 + at, ReceivedAt: t0 + at, UserId: user, DeviceId: device, RoomId: room}
	if len(attrs) > 0 {
		e.Attrs = map[string]string{}
		for i := 0; i+1 < len(attrs); i += 2 {
			e.Attrs[attrs[i]] = attrs[i+1]
		}
	}
	return e
}

const (
	tEnter    = tidev1.EventType_EVENT_TYPE_ROOM_ENTER
	tLeave    = tidev1.EventType_EVENT_TYPE_ROOM_LEAVE
	tLike     = tidev1.EventType_EVENT_TYPE_LIKE
	tClick    = tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK
	tCreated  = tidev1.EventType_EVENT_TYPE_ORDER_CREATED
	tPaid     = tidev1.EventType_EVENT_TYPE_ORDER_PAID
	tRefunded = tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED
)

// run feeds a log to a fresh engine and returns it and its flags.
func run(log []*tidev1.Event) (*Engine, []Flag) {
	var flags []Flag
	e := New(WithSink(func(f Flag) { flags = append(flags, f) }))
	for _, x := range log {
		e.Observe(x)
	}
	return e, flags
}

func u(i int) string { return "u" + strconv.Itoa(i) }

func TestR1DeviceAccounts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		accounts int
		spread   int64 // ms between accounts
		want     bool
	}{
		{"household of 4", DeviceAccounts - 1, min, false},
		{"threshold", DeviceAccounts, min, true},
		{"farm of 20", 20, sec, true},
		{"5 accounts over 5 days", DeviceAccounts, 25 * 60 * min, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log []*tidev1.Event
			for i := range tc.accounts {
				log = append(log, ev(tClick, int64(i)*tc.spread, u(i), "d1", "r1"))
				log = append(log, ev(tClick, int64(i)*tc.spread+sec, u(i), "d1", "r1")) // repeats do not count
			}
			e, flags := run(log)
			if got := e.IsFlaggedBy(KindDevice, "d1", RuleDeviceAccounts); got != tc.want {
				t.Fatalf("device flagged = %v, want %v (flags %v)", got, tc.want, flags)
			}
			if tc.want {
				for i := range tc.accounts {
					if !e.IsFlaggedBy(KindUser, u(i), RuleDeviceAccounts) {
						t.Errorf("%s not flagged", u(i))
					}
				}
				if !e.Flagged(ev(tClick, 0, "", "d1", "")) {
					t.Error("Flagged(event of the device) = false")
				}
			} else if len(flags) != 0 {
				t.Errorf("flags %v", flags)
			}
		})
	}
}

func TestR2IPRoomOrders(t *testing.T) {
	for _, tc := range []struct {
		name             string
		orders, accounts int
		gap              int64
		room2            bool // alternate rooms
		want             bool
	}{
		{"big spender: 12 orders, 1 account", 12, 1, 30 * sec, false, false},
		{"family: 6 orders, 2 accounts", 6, 2, 30 * sec, false, false},
		{"below: 4 orders, 4 accounts", IPRoomOrders - 1, 4, 30 * sec, false, false},
		{"threshold: 5 orders, 3 accounts", IPRoomOrders, IPRoomAccounts, 30 * sec, false, true},
		{"ring in 10 min", 10, 10, 5 * sec, false, true},
		{"spread over an hour", 6, 6, 12 * min, false, false},
		{"two rooms", 8, 8, 5 * sec, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log []*tidev1.Event
			for i := range tc.orders {
				room := "r1"
				if tc.room2 && i%2 == 1 {
					room = "r2"
				}
				log = append(log, ev(tCreated, int64(i)*tc.gap, u(i%tc.accounts), "d"+u(i%tc.accounts), room, AttrIP, "10.0.0.1"))
			}
			e, _ := run(log)
			if got := e.IsFlaggedBy(KindIP, "10.0.0.1", RuleIPRoomOrders); got != tc.want {
				t.Fatalf("ip flagged = %v, want %v", got, tc.want)
			}
			if got := e.IsFlaggedBy(KindUser, u(0), RuleIPRoomOrders); got != tc.want {
				t.Errorf("u0 flagged = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestR3FreshFastBuy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		age   int64 // account age at entry, ms
		delay int64 // order after first entry, ms
		want  bool
	}{
		{"fresh, 5s", 2 * 60 * min, 5 * sec, true},
		{"fresh, just under 60s", 2 * 60 * min, FreshBuyDelay.Milliseconds() - 1, true},
		{"fresh, 60s", 2 * 60 * min, FreshBuyDelay.Milliseconds(), false},
		{"old account, 5s", 30 * 24 * 60 * min, 5 * sec, false},
		{"just a day old, 5s", FreshAccountAge.Milliseconds(), 5 * sec, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			created := strconv.FormatInt(t0-tc.age, 10)
			e, _ := run([]*tidev1.Event{
				ev(tEnter, 0, "u1", "d1", "r1"),
				ev(tCreated, tc.delay, "u1", "d1", "r1", AttrAccountCreated, created),
			})
			if got := e.IsFlaggedBy(KindUser, "u1", RuleFreshFastBuy); got != tc.want {
				t.Fatalf("flagged = %v, want %v", got, tc.want)
			}
		})
	}
	// Without the server's acct_created the rule cannot judge.
	if e, _ := run([]*tidev1.Event{ev(tEnter, 0, "u1", "d1", "r1"), ev(tCreated, sec, "u1", "d1", "r1")}); e.IsFlagged(KindUser, "u1") {
		t.Error("flagged without acct_created")
	}
}

func TestR4OrderRefund(t *testing.T) {
	for _, tc := range []struct {
		name          string
		paid, refunds int
		after         int64
		wantUser      bool
		wantRoom      bool
	}{
		{"one quick refund", 1, 1, 5 * min, false, false},
		{"2 of 4 quick", 4, 2, 5 * min, true, false},
		{"2 of 5 quick", 5, 2, 5 * min, false, false},
		{"2 of 4 after an hour", 4, 2, 60 * min, false, false},
		{"room: 12 orders, 4 quick", 12, 4, 5 * min, false, true},
		{"room: 12 orders, 3 quick", 12, 3, 5 * min, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log []*tidev1.Event
			for i := range tc.paid {
				log = append(log, ev(tPaid, int64(i)*sec, "u1", "d1", "r1", AttrOrderID, "o"+strconv.Itoa(i)))
			}
			for i := range tc.refunds {
				log = append(log, ev(tRefunded, int64(tc.paid)*sec+tc.after+int64(i)*sec, "u1", "d1", "r1", AttrOrderID, "o"+strconv.Itoa(i)))
			}
			e, _ := run(log)
			if got := e.IsFlaggedBy(KindUser, "u1", RuleOrderRefund); got != tc.wantUser {
				t.Errorf("user flagged = %v, want %v", got, tc.wantUser)
			}
			if got := e.IsFlaggedBy(KindRoom, "r1", RuleOrderRefund); got != tc.wantRoom {
				t.Errorf("room flagged = %v, want %v", got, tc.wantRoom)
			}
		})
	}
}

// group makes n accounts enter room at at (spread over spread ms) and leave
// after stay ms.
func group(first, n int, room string, at, spread, stay int64) []*tidev1.Event {
	var log []*tidev1.Event
	for i := range n {
		off := spread * int64(i) / int64(max(n-1, 1))
		log = append(log, ev(tEnter, at+off, u(first+i), "d"+u(first+i), room))
	}
	for i := range n {
		off := spread * int64(i) / int64(max(n-1, 1))
		log = append(log, ev(tLeave, at+off+stay, u(first+i), "d"+u(first+i), room))
	}
	return log
}

func TestR5Lockstep(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		spread   int64
		stay     int64
		episodes int
		want     bool
	}{
		{"7 accounts twice", LockstepGroup - 1, 500, 20 * sec, 2, false},
		{"8 accounts once", LockstepGroup, 500, 20 * sec, 1, false},
		{"8 accounts twice", LockstepGroup, 500, 20 * sec, 2, true},
		{"20 accounts, three rooms", 20, 900, 10 * sec, 3, true},
		{"8 spread over 3s", LockstepGroup, 3 * sec, 20 * sec, 2, false},
		{"fans: 8 in 1s who stay", LockstepGroup, 500, 10 * min, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log []*tidev1.Event
			for k := range tc.episodes {
				log = append(log, group(0, tc.n, "r"+strconv.Itoa(k), int64(k)*20*min, tc.spread, tc.stay)...)
			}
			e, _ := run(log)
			if got := e.IsFlaggedBy(KindUser, u(0), RuleLockstep); got != tc.want {
				t.Fatalf("flagged = %v, want %v", got, tc.want)
			}
		})
	}
}

// visit is one visit of u1 to r1 starting at at, lasting dwell, with acts likes.
func visit(at, dwell int64, acts int) []*tidev1.Event {
	log := []*tidev1.Event{ev(tEnter, at, "u1", "d1", "r1")}
	for i := range acts {
		log = append(log, ev(tLike, at+int64(i+1)*dwell/int64(acts+1), "u1", "d1", "r1"))
	}
	return append(log, ev(tLeave, at+dwell, "u1", "d1", "r1"))
}

func TestR6ViewBot(t *testing.T) {
	for _, tc := range []struct {
		name        string
		idle, other int
		dwell       int64
		want        bool
	}{
		{"3 idle visits", IdleVisits - 1, 0, 5 * min, false},
		{"4 idle visits", IdleVisits, 0, 5 * min, true},
		{"4 idle, 4 active (lurker)", IdleVisits, 4, 5 * min, false},
		{"10 short idle visits", 10, 0, 30 * sec, false},
		{"10 idle, 1 active", 10, 1, 5 * min, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log []*tidev1.Event
			at := int64(0)
			for range tc.other { // the active visits first: a flag is never taken back
				log = append(log, visit(at, tc.dwell, 2)...)
				at += tc.dwell + min
			}
			for range tc.idle {
				log = append(log, visit(at, tc.dwell, 0)...)
				at += tc.dwell + min
			}
			e, _ := run(log)
			if got := e.IsFlaggedBy(KindUser, "u1", RuleViewBot); got != tc.want {
				t.Fatalf("flagged = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestR6RoomViewBotted(t *testing.T) {
	var log []*tidev1.Event
	for b := range 3 {
		for k := range 5 {
			at := int64(k) * 10 * min
			log = append(log, ev(tEnter, at, u(b), "d"+u(b), "r1"), ev(tLeave, at+5*min, u(b), "d"+u(b), "r1"))
		}
	}
	e, _ := run(log)
	// 3 bots flagged at their 4th idle visit: their 4th and 5th visits count, 6 < 10.
	if e.IsFlaggedBy(KindRoom, "r1", RuleViewBot) {
		t.Fatal("room flagged after 6 bot visits")
	}
	for b := 3; b < 5; b++ {
		for k := range 5 {
			at := int64(k) * 10 * min
			log = append(log, ev(tEnter, at, u(b), "d"+u(b), "r1"), ev(tLeave, at+5*min, u(b), "d"+u(b), "r1"))
		}
	}
	e, _ = run(log)
	if !e.IsFlaggedBy(KindRoom, "r1", RuleViewBot) {
		t.Fatal("room not flagged after 10 bot visits")
	}
}

func TestKeepAndOnce(t *testing.T) {
	var flags []Flag
	e := New(WithSink(func(f Flag) { flags = append(flags, f) }))
	for i := range DeviceAccounts + 3 {
		keep := e.Keep(ev(tClick, int64(i)*sec, u(i), "d1", "r1"))
		if want := i < DeviceAccounts-1; keep != want {
			t.Errorf("event %d: Keep = %v, want %v", i, keep, want)
		}
	}
	// device once + one flag per account
	if want := 1 + DeviceAccounts + 3; len(flags) != want {
		t.Errorf("%d flags, want %d: %v", len(flags), want, flags)
	}
	if f := flags[0]; f.Kind != KindDevice || f.Rule != RuleDeviceAccounts || f.Reason == "" || f.Measure != DeviceAccounts {
		t.Errorf("first flag %+v", f)
	}
	if !e.Keep(ev(tClick, 10*sec, "other", "d2", "r1")) {
		t.Error("an unrelated user is not kept")
	}
}

func TestBoundedMemory(t *testing.T) {
	e := New(WithCaps(100))
	for i := range 1000 {
		e.Observe(ev(tEnter, int64(i), u(i), "d"+u(i), "r1"))
	}
	s := e.Stats()
	if s.Users > 100 || s.Devices > 100 || s.Dropped == 0 {
		t.Fatalf("stats %+v", s)
	}
	// a day later the sweep frees everything
	e.Observe(ev(tEnter, 26*60*min, "late", "dlate", "r1"))
	if s := e.Stats(); s.Users != 1 || s.Devices != 1 {
		t.Fatalf("after a day: %+v", s)
	}
}

// TestConcurrentReaders reads flags while one goroutine feeds the engine
// (run with -race).
func TestConcurrentReaders(t *testing.T) {
	e := New()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			e.Observe(ev(tClick, int64(i)*sec, u(i%50), "d"+strconv.Itoa(i%7), "r1"))
		}
	}()
	for {
		select {
		case <-done:
			if !e.IsFlagged(KindDevice, "d0") {
				t.Fatal("d0 (50 accounts over 7 devices) not flagged")
			}
			return
		default:
			_ = e.Flagged(ev(tClick, 0, "u1", "d1", "r1"))
			_ = e.RulesOf(KindUser, "u3")
		}
	}
}
