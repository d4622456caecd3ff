package livesim

import (
	"strconv"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Job kinds of the scripted actors (task.kind; task.idx is the actor, or
// the farm / hopper group / ring).
const (
	jFarm uint8 = iota
	jSitter
	jHop
	jRing
	jSpender
	jFan
)

// cast creates the actors and schedules their first jobs in the first hour.
func (k *attacks) cast() {
	c, s := k.cfg, k.s
	first := func(kind uint8, idx int32) {
		k.seq++
		k.jobs.push(task{at: s.start + k.rng.Int64N(60*minuteMs), seq: k.seq, kind: kind, idx: idx})
	}
	n := 0
	for f := range c.ClickFarms {
		var members []int32
		for d := range c.FarmDevices {
			dev := "farmdev-" + strconv.Itoa(f) + "-" + strconv.Itoa(d)
			ip := "farmip-" + strconv.Itoa(f)
			per := c.FarmAccountsPerDevice
			if f == 0 && d == 0 {
				per = 4 // a careful farm stays under R1's threshold on one device
			}
			for range per {
				n++
				members = append(members, k.add(RoleClickFarm, "cf", n, dev, ip, k.oldAccount(), int32(d)))
			}
		}
		k.groups = append(k.groups, members)
		first(jFarm, int32(len(k.groups)-1))
	}
	for i := range c.Sitters {
		first(jSitter, k.add(RoleViewBot, "vb", i+1, "", "", k.oldAccount(), -1))
	}
	n = 0
	for range c.HopperGroups {
		var members []int32
		for range c.HopperGroupSize {
			n++
			members = append(members, k.add(RoleViewBot, "hop", n, "", "", k.oldAccount(), -1))
		}
		k.groups = append(k.groups, members)
		first(jHop, int32(len(k.groups)-1))
	}
	n = 0
	for range c.Rings {
		var members []int32
		for range c.RingAccounts {
			n++
			fresh := s.start - k.rng.Int64N(20*60*minuteMs) // registered in bulk just before
			members = append(members, k.add(RoleBrushRing, "ring", n, "", "", fresh, -1))
		}
		k.groups = append(k.groups, members)
		first(jRing, int32(len(k.groups)-1))
	}
	for i := range c.BigSpenders {
		ip := "home-" + strconv.Itoa(i/2) // couples share a router
		first(jSpender, k.add(RoleBigSpender, "big", i+1, "", ip, k.oldAccount(), -1))
	}
	fanRooms := max(min(c.Fans/10, len(s.rooms)), 1) // about ten fans per anchor
	for i := range c.Fans {
		dev := ""
		if i%3 != 2 { // households share a tablet between two fans
			dev = "famdev-" + strconv.Itoa(i/3)
		}
		fav := int32(i % fanRooms * (len(s.rooms) / fanRooms))
		first(jFan, k.add(RoleFan, "fan", i+1, dev, "", k.oldAccount(), fav))
	}
}

// later schedules a job at at.
func (k *attacks) later(at int64, kind uint8, idx int32) {
	k.seq++
	k.jobs.push(task{at: at, seq: k.seq, kind: kind, idx: idx})
}

// between draws uniformly from [lo, hi).
func (k *attacks) between(lo, hi int64) int64 { return lo + k.rng.Int64N(hi-lo) }

// liveRoom draws a room live at t for at least another 10 minutes, and its
// session; ok false when none is.
func (k *attacks) liveRoom(t int64) (r int32, session string, ok bool) {
	s := k.s
	var cands []int32
	for i := range s.rooms {
		if st, en, live := s.liveWindow(int32(i), t); live && en-t > 10*minuteMs && st <= t {
			cands = append(cands, int32(i))
		}
	}
	if len(cands) == 0 {
		return 0, "", false
	}
	r = cands[k.rng.IntN(len(cands))]
	st, _, _ := s.liveWindow(r, t)
	return r, s.sessionID(r, st), true
}

// inRoom starts an actor event in room r.
func (k *attacks) inRoom(t tidev1.EventType, a *actor, ts int64, r int32, session string) *tidev1.Event {
	e := k.event(t, a, ts)
	rm := &k.s.rooms[r]
	e.RoomId, e.MerchantId, e.LiveSessionId = rm.id, k.s.merchants[rm.merchant].id, session
	return e
}

// product draws a product of room r's merchant.
func (k *attacks) product(r int32) *product {
	ps := k.s.merchants[k.s.rooms[r].merchant].products
	return &k.s.products[ps[k.rng.IntN(len(ps))]]
}

// order emits ORDER_CREATED at ts and ORDER_PAID after it, with the
// server's attributes; refundAfter > 0 adds a refund that long after payment.
func (k *attacks) order(a *actor, ts int64, r int32, session string, refundAfter int64) int64 {
	p := k.product(r)
	k.nIDs++
	oid := "xo" + string(k.s.idPrefix) + strconv.FormatUint(k.nIDs, 36)
	attrs := func() map[string]string {
		return map[string]string{"order_id": oid, "ip": a.ip, "acct_created": strconv.FormatInt(a.created, 10)}
	}
	mk := func(t tidev1.EventType, at int64) {
		e := k.inRoom(t, a, at, r, session)
		e.ProductId, e.Value, e.Attrs = p.id, p.price, attrs()
	}
	mk(tOrderCreated, ts)
	paid := ts + k.between(5_000, 30_000)
	mk(tOrderPaid, paid)
	if refundAfter > 0 {
		mk(tOrderRefunded, paid+refundAfter)
	}
	return paid
}

// run expands one job into events and schedules the actor's next job.
func (k *attacks) run(j task) {
	switch j.kind {
	case jFarm:
		k.farmShift(j)
	case jSitter:
		k.sit(j)
	case jHop:
		k.hop(j)
	case jRing:
		k.ringJob(j)
	case jSpender:
		k.spend(j)
	case jFan:
		k.fanVisit(j)
	}
}

// farmShift: every account of the farm, device by device in turn, enters a
// live room and clicks products for a minute or two.
func (k *attacks) farmShift(j task) {
	end := j.at
	byDevice := map[int32]int64{}
	for _, i := range k.groups[j.idx] {
		a := &k.actors[i]
		t := max(j.at, byDevice[a.group]) + k.between(2_000, 10_000)
		r, sess, ok := k.liveRoom(t)
		if !ok {
			break
		}
		k.inRoom(tRoomEnter, a, t, r, sess)
		entered := t
		for range 1 + k.rng.IntN(3) {
			t += k.between(3_000, 20_000)
			p := k.product(r)
			e := k.inRoom(tProductImpr, a, t, r, sess)
			e.ProductId = p.id
			t += k.between(1_000, 5_000)
			e = k.inRoom(tProductClick, a, t, r, sess)
			e.ProductId = p.id
			if k.rng.IntN(4) == 0 {
				t += k.between(2_000, 8_000)
				e = k.inRoom(tAddToCart, a, t, r, sess)
				e.ProductId, e.Value = p.id, p.price
			}
		}
		t += k.between(5_000, 30_000)
		e := k.inRoom(tRoomLeave, a, t, r, sess)
		e.Value = t - entered
		byDevice[a.group] = t
		end = max(end, t)
	}
	k.later(end+k.between(30*minuteMs, 90*minuteMs), jFarm, j.idx)
}

// sit: a view bot enters a live room, does nothing for minutes, leaves.
func (k *attacks) sit(j task) {
	a := &k.actors[j.idx]
	t := j.at
	if r, sess, ok := k.liveRoom(t); ok {
		k.inRoom(tRoomEnter, a, t, r, sess)
		stay := k.between(2*minuteMs, 10*minuteMs)
		if j.idx%10 == 0 && k.rng.IntN(2) == 0 { // an evasive bot likes now and then
			k.inRoom(tLike, a, t+stay/2, r, sess).Value = 1
		}
		t += stay
		k.inRoom(tRoomLeave, a, t, r, sess).Value = stay
	}
	k.later(t+k.between(20*minuteMs, 80*minuteMs), jSitter, j.idx)
}

// hop: a lockstep group enters one room within a second and leaves within
// half a minute.
func (k *attacks) hop(j task) {
	end := j.at
	if r, sess, ok := k.liveRoom(j.at); ok {
		for _, i := range k.groups[j.idx] {
			a := &k.actors[i]
			t := j.at + k.rng.Int64N(900)
			k.inRoom(tRoomEnter, a, t, r, sess)
			stay := k.between(8_000, 25_000)
			k.inRoom(tRoomLeave, a, t+stay, r, sess).Value = stay
			end = max(end, t+stay)
		}
	}
	k.later(end+k.between(20*minuteMs, 40*minuteMs), jHop, j.idx)
}

// ringJob: part of a 刷单 ring enters one room from one IP, each account
// orders within seconds, and some refund soon after.
func (k *attacks) ringJob(j task) {
	members := k.groups[j.idx]
	end := j.at
	if r, sess, ok := k.liveRoom(j.at); ok {
		n := 6 + k.rng.IntN(max(len(members)-5, 1))
		ip := "proxy-" + strconv.Itoa(int(j.idx)) + "-" + strconv.FormatInt(j.at, 36)
		t := j.at
		for _, x := range k.rng.Perm(len(members))[:min(n, len(members))] {
			a := &k.actors[members[x]]
			a.ip = ip
			t += k.between(3_000, 20_000)
			k.inRoom(tRoomEnter, a, t, r, sess)
			if k.rng.IntN(2) == 0 {
				k.inRoom(tLike, a, t+k.between(1_000, 4_000), r, sess).Value = 1
			}
			refund := int64(0)
			if k.rng.IntN(10) < 4 {
				refund = k.between(3*minuteMs, 20*minuteMs)
			}
			created := t + k.between(5_000, 40_000)
			paid := k.order(a, created, r, sess, refund)
			leave := paid + k.between(5_000, 60_000)
			k.inRoom(tRoomLeave, a, leave, r, sess).Value = leave - t
			end = max(end, leave)
		}
	}
	k.later(end+k.between(60*minuteMs, 150*minuteMs), jRing, j.idx)
}

// engage emits likes and chats of a watching actor from t to until.
func (k *attacks) engage(a *actor, t, until int64, r int32, sess string, every int64) {
	for t += k.between(2_000, every); t < until; t += k.between(2_000, every) {
		if k.rng.IntN(3) == 0 {
			k.inRoom(tChat, a, t, r, sess).Text = chatPhrases[k.rng.IntN(len(chatPhrases))]
		} else {
			k.inRoom(tLike, a, t, r, sess).Value = 1 + k.rng.Int64N(5)
		}
	}
}

// spend: a big spender watches a room for a while, engages and buys several
// products, never in the first minute and a half.
func (k *attacks) spend(j task) {
	a := &k.actors[j.idx]
	t := j.at
	if r, sess, ok := k.liveRoom(t); ok {
		k.inRoom(tRoomEnter, a, t, r, sess)
		stay := k.between(10*minuteMs, 25*minuteMs)
		k.engage(a, t, t+stay, r, sess, 40_000)
		at := t + k.between(90_000, 4*minuteMs)
		for range 2 + k.rng.IntN(5) {
			if at >= t+stay-60_000 {
				break
			}
			p := k.product(r)
			e := k.inRoom(tProductClick, a, at-20_000, r, sess)
			e.ProductId = p.id
			refund := int64(0)
			if k.rng.IntN(50) == 0 {
				refund = k.between(2*60*minuteMs, 48*60*minuteMs) // changed their mind, days later
			}
			k.order(a, at, r, sess, refund)
			at += k.between(60_000, 4*minuteMs)
		}
		t += stay
		k.inRoom(tRoomLeave, a, t, r, sess).Value = stay
	}
	k.later(t+k.between(40*minuteMs, 120*minuteMs), jSpender, j.idx)
}

// fanVisit: a fan watches its favourite room whenever it is live, and waits
// for the next show otherwise, rushing in within a second or two of its
// start together with the other fans.
func (k *attacks) fanVisit(j task) {
	a := &k.actors[j.idx]
	s, r := k.s, a.group
	t := j.at
	st, en, live := s.liveWindow(r, t)
	if !live || en-t < 2*minuteMs {
		next, _ := s.nextWindow(r, t+2*minuteMs)
		if next <= t {
			next = t + 60*minuteMs
		}
		k.later(next+k.rng.Int64N(1500), jFan, j.idx)
		return
	}
	sess := s.sessionID(r, st)
	k.inRoom(tRoomEnter, a, t, r, sess)
	stay := k.between(3*minuteMs, 20*minuteMs)
	if k.rng.IntN(5) == 0 && t-st > 5*minuteMs {
		stay = k.between(10_000, 25_000) // a quick check-in
	}
	stay = min(stay, en-t-1)
	k.engage(a, t, t+stay, r, sess, 30_000)
	if stay < 30_000 {
		k.inRoom(tLike, a, t+stay/2, r, sess).Value = 1
	}
	t += stay
	k.inRoom(tRoomLeave, a, t, r, sess).Value = stay
	k.later(t+k.between(5*minuteMs, 30*minuteMs), jFan, j.idx)
}
