package fraud

import (
	"fmt"
	"strconv"
	"strings"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Attribute keys the rules read; the server stamps them (see the package
// documentation).
const (
	// AttrIP is the client's IP address.
	AttrIP = "ip"
	// AttrAccountCreated is the account's creation time, Unix ms.
	AttrAccountCreated = "acct_created"
	// AttrOrderID names the order of ORDER_* events.
	AttrOrderID = "order_id"
)

// orderCreated runs R2 and R3 on an ORDER_CREATED event.
func (e *Engine) orderCreated(ev *tidev1.Event, uid string, t int64) {
	attrs := ev.GetAttrs()
	room := ev.GetRoomId()
	u := e.user(uid, t)
	if u == nil {
		return
	}
	// R3: a fresh account buying within seconds of its first room entry.
	if c, err := strconv.ParseInt(attrs[AttrAccountCreated], 10, 64); err == nil && c > 0 && u.firstEnter > 0 {
		age, delay := t-c, t-u.firstEnter
		if age < e.th.FreshAccountAge.Milliseconds() && delay < e.th.FreshBuyDelay.Milliseconds() {
			e.raise(KindUser, uid, RuleFreshFastBuy, delay/1000, room, t, func() string {
				return fmt.Sprintf("account %s old ordered %.0fs after its first room entry (thresholds %s, %s)",
					fmtMs(age), float64(delay)/1000, e.th.FreshAccountAge, e.th.FreshBuyDelay)
			})
		}
	}
	// R2: many orders by several accounts from one IP in one room.
	ip := attrs[AttrIP]
	if ip == "" || room == "" {
		return
	}
	key := ipRoom{ip, room}
	s := e.ipRooms[key]
	if s == nil {
		if e.full(len(e.ipRooms)) {
			return
		}
		s = &ipRoomState{}
		e.ipRooms[ipRoom{strings.Clone(ip), strings.Clone(room)}] = s
	}
	s.last = max(s.last, t)
	from := t - e.th.IPRoomWindow.Milliseconds()
	kept := s.orders[:0]
	for _, o := range s.orders {
		if o.at > from {
			kept = append(kept, o)
		}
	}
	s.orders = kept
	if len(s.orders) >= 4*e.th.IPRoomOrders {
		s.orders = append(s.orders[:0], s.orders[1:]...)
	}
	s.orders = append(s.orders, account{u.id, t})
	n, accounts := len(s.orders), distinct(s.orders)
	if n < e.th.IPRoomOrders || accounts < e.th.IPRoomAccounts {
		return
	}
	e.raise(KindIP, ip, RuleIPRoomOrders, int64(n), room, t, func() string {
		return fmt.Sprintf("%d orders by %d accounts from this IP in room %s within %s (thresholds %d orders, %d accounts)",
			n, accounts, room, e.th.IPRoomWindow, e.th.IPRoomOrders, e.th.IPRoomAccounts)
	})
	for _, o := range s.orders {
		e.raise(KindUser, o.id, RuleIPRoomOrders, int64(n), room, t, func() string {
			return fmt.Sprintf("one of %d accounts placing %d orders from IP %s in room %s within %s",
				accounts, n, ip, room, e.th.IPRoomWindow)
		})
	}
}

// distinct counts the different accounts of a short list.
func distinct(as []account) int {
	n := 0
	for i, a := range as {
		seen := false
		for _, b := range as[:i] {
			if b.id == a.id {
				seen = true
				break
			}
		}
		if !seen {
			n++
		}
	}
	return n
}

// orderPaid remembers a paid order for R4.
func (e *Engine) orderPaid(ev *tidev1.Event, uid string, t int64) {
	u := e.user(uid, t)
	if u == nil {
		return
	}
	u.paid++
	room := ev.GetRoomId()
	if room != "" {
		if r := e.room(room, t); r != nil {
			r.paid++
		}
	}
	id := ev.GetAttrs()[AttrOrderID]
	if id == "" || e.orders[id] != nil || e.full(len(e.orders)) {
		return
	}
	e.orders[strings.Clone(id)] = &orderState{room: strings.Clone(room), paidAt: t}
}

// orderRefunded runs R4 on an ORDER_REFUNDED event.
func (e *Engine) orderRefunded(ev *tidev1.Event, uid string, t int64) {
	id := ev.GetAttrs()[AttrOrderID]
	o := e.orders[id]
	if o == nil {
		return // unknown, or paid long ago: not a quick refund
	}
	delete(e.orders, id)
	if t-o.paidAt > e.th.RefundWithin.Milliseconds() {
		return
	}
	if u := e.user(uid, t); u != nil {
		u.fastRefunds++
		if int(u.fastRefunds) >= e.th.BuyerFastRefunds && float64(u.fastRefunds) >= e.th.BuyerFastRefundShare*float64(u.paid) {
			n, paid := u.fastRefunds, u.paid
			e.raise(KindUser, uid, RuleOrderRefund, int64(n), o.room, t, func() string {
				return fmt.Sprintf("%d of %d paid orders refunded within %s (thresholds %d, share %.2f)",
					n, paid, e.th.RefundWithin, e.th.BuyerFastRefunds, e.th.BuyerFastRefundShare)
			})
		}
	}
	if o.room == "" {
		return
	}
	r := e.room(o.room, t)
	if r == nil {
		return
	}
	r.fastRefunds++
	if int(r.paid) >= e.th.RoomMinOrders && float64(r.fastRefunds) >= e.th.RoomFastRefundShare*float64(r.paid) {
		n, paid := r.fastRefunds, r.paid
		e.raise(KindRoom, o.room, RuleOrderRefund, int64(n), o.room, t, func() string {
			return fmt.Sprintf("%d of %d paid orders in this room refunded within %s (threshold share %.2f, at least %d orders)",
				n, paid, e.th.RefundWithin, e.th.RoomFastRefundShare, e.th.RoomMinOrders)
		})
	}
}

// fmtMs writes a duration in ms the way time.Duration does, to the second.
func fmtMs(ms int64) string {
	return (timeMs(ms)).String()
}
