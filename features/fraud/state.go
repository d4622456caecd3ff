package fraud

import (
	"strings"
	"time"
)

// userState is what the rules keep of one account.
type userState struct {
	id         string
	last       int64
	firstEnter int64 // the first ROOM_ENTER seen, 0 before (R3)

	visitRoom string // the open visit (R5, R6); "" when none
	visitAt   int64
	visitActs int32

	dayStart    int64 // start of the tumbling day of the counts below
	visits      int32 // R6
	idle        int32 // R6
	paid        int32 // R4
	fastRefunds int32 // R4

	episodes   int32 // R5: lockstep groups this account was in
	lastEpRoom string
	lastEpAt   int64
}

// ipRoom keys R2's state.
type ipRoom struct{ ip, room string }

// ipRoomState holds R2's recent orders of one IP in one room.
type ipRoomState struct {
	last   int64
	orders []account // within IPRoomWindow, at most 4·IPRoomOrders
}

// orderState is a paid order awaiting a possible quick refund (R4).
type orderState struct {
	room   string
	paidAt int64
}

// roomState is what the rules keep of one room.
type roomState struct {
	id          string
	last        int64
	dayStart    int64
	paid        int32 // R4
	fastRefunds int32 // R4
	botVisits   int32 // R6: idle visits of flagged view bots
	shorts      []shortVisit
}

// shortVisit is a visit of at most LockstepStay (R5).
type shortVisit struct {
	u     *userState
	enter int64
}

// maxShorts bounds a room's short visits kept for R5.
const maxShorts = 256

// user returns uid's state, creating it; nil when the map is full.
func (e *Engine) user(uid string, t int64) *userState {
	u := e.users[uid]
	if u == nil {
		if e.full(len(e.users)) {
			return nil
		}
		id := strings.Clone(uid)
		u = &userState{id: id, dayStart: t}
		e.users[id] = u
	}
	u.last = max(u.last, t)
	if t-u.dayStart >= (24 * time.Hour).Milliseconds() {
		u.dayStart, u.visits, u.idle, u.paid, u.fastRefunds = t, 0, 0, 0, 0
	}
	return u
}

// room returns the room's state, creating it; nil when the map is full.
func (e *Engine) room(id string, t int64) *roomState {
	r := e.rooms[id]
	if r == nil {
		if e.full(len(e.rooms)) {
			return nil
		}
		r = &roomState{id: strings.Clone(id), dayStart: t}
		e.rooms[r.id] = r
	}
	r.last = max(r.last, t)
	if t-r.dayStart >= (24 * time.Hour).Milliseconds() {
		r.dayStart, r.paid, r.fastRefunds, r.botVisits = t, 0, 0, 0
	}
	return r
}

// sweep drops the state that no rule can use any more at time t.
func (e *Engine) sweep(t int64) {
	day := (24 * time.Hour).Milliseconds()
	userTTL := max(day, e.th.DeviceWindow.Milliseconds(), e.th.BuyerWindow.Milliseconds())
	for id, u := range e.users {
		if u.last < t-userTTL {
			delete(e.users, id)
		}
	}
	for id, d := range e.devices {
		if d.last < t-e.th.DeviceWindow.Milliseconds() {
			delete(e.devices, id)
		}
	}
	for k, s := range e.ipRooms {
		if s.last < t-e.th.IPRoomWindow.Milliseconds() {
			delete(e.ipRooms, k)
		}
	}
	for id, o := range e.orders {
		if o.paidAt < t-e.th.RefundWithin.Milliseconds() {
			delete(e.orders, id)
		}
	}
	for id, r := range e.rooms {
		if r.last < t-day {
			delete(e.rooms, id)
		}
	}
}
