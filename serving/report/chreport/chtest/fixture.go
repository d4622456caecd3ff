package chtest

import (
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// FixtureStart is when the fixture's session s1 starts: 23:58 on
// 2026-12-01 in Asia/Shanghai (15:58 UTC), so it runs across Shanghai
// midnight while staying on one UTC day.
var FixtureStart = time.Date(2026, 12, 1, 15, 58, 0, 0, time.UTC)

// Fixture is a small fixed event set whose reports are computed by hand in
// chreport's tests: merchant m1's room r1, session s1, viewers u1..u3, with
// two duplicated events (a room enter and a paid order), a late event
// (received an hour after it happened), a refund, an A/B experiment exp1
// (u1, u2 control; u3, u4 treat; u4 never sees m1) and, as the other
// tenant, merchant m2's room r2 whose figures must never show for m1.
func Fixture() []*tidev1.Event {
	t0 := FixtureStart.UnixMilli()
	at := func(sec int64) int64 { return t0 + sec*1000 }
	ev := func(id string, typ tidev1.EventType, sec int64, user string) *tidev1.Event {
		return &tidev1.Event{EventId: id, Type: typ, Ts: at(sec), UserId: user,
			MerchantId: "m1", RoomId: "r1", LiveSessionId: "s1"}
	}
	with := func(e *tidev1.Event, f func(*tidev1.Event)) *tidev1.Event { f(e); return e }
	prod := func(p string, v int64) func(*tidev1.Event) {
		return func(e *tidev1.Event) { e.ProductId, e.Value = p, v }
	}
	expo := func(id, user, arm string) *tidev1.Event {
		return &tidev1.Event{EventId: id, Type: tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE, Ts: at(-60),
			UserId: user, Experiments: map[string]string{"exp1": arm}}
	}
	const (
		imp   = tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION
		enter = tidev1.EventType_EVENT_TYPE_ROOM_ENTER
		leave = tidev1.EventType_EVENT_TYPE_ROOM_LEAVE
		pimp  = tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION
		click = tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK
		paid  = tidev1.EventType_EVENT_TYPE_ORDER_PAID
	)
	enterDup := ev("e4", enter, 0, "u1")
	paidDup := with(ev("e14", paid, 130, "u1"), prod("p1", 5000))
	late := ev("e16", enter, 200, "u3")
	late.ReceivedAt = at(3600)
	return []*tidev1.Event{
		ev("e1", imp, 0, "u1"), ev("e2", imp, 0, "u2"), ev("e3", imp, 0, "u3"),
		enterDup, ev("e5", enter, 30, "u2"), enterDup,
		with(ev("e6", tidev1.EventType_EVENT_TYPE_CHAT, 60, "u1"), func(e *tidev1.Event) { e.Text = "好看" }),
		with(ev("e7", tidev1.EventType_EVENT_TYPE_LIKE, 70, "u2"), func(e *tidev1.Event) { e.Value = 5 }),
		ev("e8", tidev1.EventType_EVENT_TYPE_FOLLOW, 80, "u2"),
		with(ev("e9", pimp, 90, "u1"), prod("p1", 0)),
		with(ev("e10", pimp, 95, "u2"), prod("p1", 0)),
		with(ev("e11", click, 100, "u1"), func(e *tidev1.Event) {
			e.ProductId, e.Experiments = "p1", map[string]string{"exp1": "control"}
		}),
		with(ev("e12", tidev1.EventType_EVENT_TYPE_ADD_TO_CART, 110, "u1"), prod("p1", 5000)),
		with(ev("e13", tidev1.EventType_EVENT_TYPE_ORDER_CREATED, 120, "u1"), prod("p1", 5000)),
		paidDup, paidDup,
		with(ev("e15", leave, 180, "u2"), func(e *tidev1.Event) { e.Value = 150_000 }),
		late,
		with(ev("e17", tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED, 240, "u1"), prod("p1", 2000)),
		with(ev("e18", click, 245, "u2"), prod("p2", 0)),
		with(ev("e19", paid, 250, "u3"), prod("p2", 3000)),
		with(ev("e20", leave, 260, "u1"), func(e *tidev1.Event) { e.Value = 240_000 }),
		// the other tenant
		{EventId: "x1", Type: enter, Ts: at(10), UserId: "u9", MerchantId: "m2", RoomId: "r2", LiveSessionId: "s2"},
		{EventId: "x2", Type: paid, Ts: at(20), UserId: "u9", MerchantId: "m2", RoomId: "r2", LiveSessionId: "s2", ProductId: "p9", Value: 99_999},
		{EventId: "x3", Type: imp, Ts: at(5), UserId: "u4", MerchantId: "m2", RoomId: "r2", LiveSessionId: "s2"},
		// experiment exposures (platform-wide, no merchant)
		expo("x10", "u1", "control"), expo("x11", "u2", "control"), expo("x12", "u3", "treat"), expo("x13", "u4", "treat"),
	}
}
