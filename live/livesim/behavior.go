package livesim

import (
	"math"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

const (
	tRoomImpression = tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION
	tRoomEnter      = tidev1.EventType_EVENT_TYPE_ROOM_ENTER
	tRoomLeave      = tidev1.EventType_EVENT_TYPE_ROOM_LEAVE
	tChat           = tidev1.EventType_EVENT_TYPE_CHAT
	tLike           = tidev1.EventType_EVENT_TYPE_LIKE
	tGift           = tidev1.EventType_EVENT_TYPE_GIFT
	tShare          = tidev1.EventType_EVENT_TYPE_SHARE
	tFollow         = tidev1.EventType_EVENT_TYPE_FOLLOW
	tUnfollow       = tidev1.EventType_EVENT_TYPE_UNFOLLOW
	tProductImpr    = tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION
	tProductClick   = tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK
	tAddToCart      = tidev1.EventType_EVENT_TYPE_ADD_TO_CART
	tOrderCreated   = tidev1.EventType_EVENT_TYPE_ORDER_CREATED
	tOrderPaid      = tidev1.EventType_EVENT_TYPE_ORDER_PAID
	tOrderRefunded  = tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED
	tSearch         = tidev1.EventType_EVENT_TYPE_SEARCH
	tSearchClick    = tidev1.EventType_EVENT_TYPE_SEARCH_CLICK
	tStreamStart    = tidev1.EventType_EVENT_TYPE_STREAM_START
	tStreamEnd      = tidev1.EventType_EVENT_TYPE_STREAM_END
)

// User states within a session.
const (
	stIdle   uint8 = iota
	stBrowse       // about to load a feed page (or search)
	stEnter        // tapped a room card, about to enter
	stRoom         // watching a room
	stSearch       // looking at search results
	stShop         // on a product page reached from search
)

// Purchase funnel stages: what the user does next with u.prod.
const (
	fNone uint8 = iota
	fClick
	fCart
	fOrder
)

type order struct {
	user, prod, room int32
	session, id      string
	amount           int64
}

// arrive starts a session of a user drawn by activity.
func (s *Sim) arrive() {
	for range 4 {
		i := s.pickUser()
		u := &s.users[i]
		if u.active {
			continue
		}
		u.active, u.room, u.funnel = true, -1, fNone
		u.evs, u.roomMs = 0, 0
		s.active++
		s.nSessions++
		if s.nLive == 0 || s.chance(0.12) {
			s.search(i)
		} else {
			s.feed(i)
		}
		return
	}
	s.nSkipped++
}

// warmViewer puts a user in a live room as if they had been watching for a
// while, the way a snapshot of busy rooms finds its viewers: no ROOM_ENTER,
// the pair drawn in proportion to how likely it is to be found watching
// (entering times staying, both growing with affinity), a random part of the
// dwell already behind them (the ROOM_LEAVE counts it).
func (s *Sim) warmViewer() {
	if s.nLive == 0 {
		return
	}
	for range 200 {
		i := s.pickUser()
		u := &s.users[i]
		if u.active {
			continue
		}
		f := &s.liveAll
		if c := &s.liveByCat[s.sampleCat(u)]; c.total > 0 && s.chance(0.5) {
			f = c
		}
		r := int32(f.sample(s.rng.Uint64N(f.total)))
		a := s.affinity(u, r)
		if !s.chance((0.05 + 0.9*a*a) * (15_000 + 900_000*a*a) / 915_000) {
			continue
		}
		rm := &s.rooms[r]
		u.active, u.state, u.funnel = true, stRoom, fNone
		u.room, u.aff, u.session, u.req, u.pos = r, a, rm.session, "", 0
		u.evs, u.roomMs = 0, 0
		s.active++
		d := s.dwell(a)
		behind := int64(s.rng.Float64() * float64(d))
		u.enterAt = s.now - behind
		u.leaveAt = max(s.now+1, min(u.enterAt+d, rm.end-1))
		s.nextRoomStep(i)
		return
	}
}

func (s *Sim) userStep(i int32) {
	u := &s.users[i]
	switch u.state {
	case stBrowse:
		if s.nLive == 0 || s.chance(0.1) {
			s.search(i)
		} else {
			s.feed(i)
		}
	case stEnter:
		s.enter(i)
	case stRoom:
		s.roomStep(i)
	case stSearch:
		s.searchClick(i)
	case stShop:
		s.funnelStep(i)
		if u.funnel != fNone {
			s.push(s.now+s.between(3000, 30000), kUser, i)
		} else {
			s.continueOrEnd(i, 0.4)
		}
	}
}

// continueOrEnd browses on after a pause with probability p, else ends the session.
func (s *Sim) continueOrEnd(i int32, p float64) {
	u := &s.users[i]
	u.room, u.funnel = -1, fNone
	if s.chance(p) {
		u.state = stBrowse
		s.push(s.now+s.between(2000, 10000), kUser, i)
		return
	}
	u.active, u.state = false, stIdle
	s.active--
	s.doneSessions++
	s.doneEvents += float64(u.evs)
	s.doneRoomMs += float64(u.roomMs)
}

func (s *Sim) viewer(t tidev1.EventType, u *user) *tidev1.Event {
	e := s.emit(t)
	e.UserId, e.DeviceId = u.id, u.device
	u.evs++
	return e
}

func (s *Sim) inRoom(t tidev1.EventType, u *user) *tidev1.Event {
	e := s.viewer(t, u)
	rm := &s.rooms[u.room]
	e.RoomId, e.MerchantId, e.LiveSessionId = rm.id, s.merchants[rm.merchant].id, u.session
	return e
}

func addCand(c *[6]int32, n int, r int32) int {
	for j := range n {
		if c[j] == r {
			return n
		}
	}
	c[n] = r
	return n + 1
}

// feed shows a page of live room cards: a followed anchor first if one is
// live, then popular rooms, half of them of the user's favourite categories.
func (s *Sim) feed(i int32) {
	u := &s.users[i]
	k := 4 + s.rng.IntN(3)
	var cand [6]int32
	n := 0
	if len(u.follows) > 0 && s.chance(0.6) {
		off := s.rng.IntN(len(u.follows))
		for j := range u.follows {
			if r := u.follows[(off+j)%len(u.follows)]; s.rooms[r].live {
				n = addCand(&cand, n, r)
				break
			}
		}
	}
	for tries := 0; n < k && tries < 3*k; tries++ {
		f := &s.liveAll
		if s.chance(0.5) {
			if c := &s.liveByCat[s.sampleCat(u)]; c.total > 0 {
				f = c
			}
		}
		n = addCand(&cand, n, int32(f.sample(s.rng.Uint64N(f.total))))
	}
	n, explored := s.explorePage(&cand, n, k) // explore.go
	req := s.newID('q')
	for j := range n {
		rm := &s.rooms[cand[j]]
		e := s.viewer(tRoomImpression, u)
		e.RoomId, e.MerchantId, e.LiveSessionId = rm.id, s.merchants[rm.merchant].id, rm.session
		e.RequestId, e.Position = req, int32(j)
		if explored {
			e.Attrs = map[string]string{AttrExposure: ExposureExplore}
		}
	}
	decay := 1.0
	for j := range n {
		a := s.affinity(u, cand[j])
		if s.chance((0.05 + 0.9*a*a) * decay) {
			u.state, u.room, u.aff, u.req, u.pos = stEnter, cand[j], a, req, int32(j)
			u.session = s.rooms[cand[j]].session
			s.push(s.now+s.between(500, 4000), kUser, i)
			return
		}
		decay *= 0.85
	}
	s.continueOrEnd(i, 0.35)
}

// enter puts the user in the room they tapped, if it is still live; the
// dwell grows with their affinity.
func (s *Sim) enter(i int32) {
	u := &s.users[i]
	rm := &s.rooms[u.room]
	if !rm.live || rm.session != u.session || rm.end-s.now < 5000 {
		s.continueOrEnd(i, 0.6)
		return
	}
	e := s.inRoom(tRoomEnter, u)
	e.RequestId, e.Position = u.req, u.pos
	u.enterAt, u.leaveAt = s.now, min(s.now+s.dwell(u.aff), rm.end-1)
	u.state, u.funnel = stRoom, fNone
	s.nextRoomStep(i)
}

// dwell draws how long a viewer with affinity a stays in a room, in ms:
// log-normal around a median from 15s (no affinity) to 15min (full).
func (s *Sim) dwell(a float64) int64 {
	median := 15_000 + 900_000*a*a
	d := int64(median * math.Exp(0.8*s.rng.NormFloat64()))
	return max(2000, min(d, 4*60*minuteMs))
}

func (s *Sim) nextRoomStep(i int32) {
	u := &s.users[i]
	var dt int64
	if u.funnel != fNone {
		dt = s.between(2000, 20000)
	} else {
		dt = s.expMs(1.0/30000 + u.aff/12000)
	}
	s.push(min(s.now+dt, u.leaveAt), kUser, i)
}

func (s *Sim) following(u *user, r int32) int {
	for j, f := range u.follows {
		if f == r {
			return j
		}
	}
	return -1
}

// roomStep is one thing a viewer does in a room, or leaving it.
func (s *Sim) roomStep(i int32) {
	u := &s.users[i]
	if s.now >= u.leaveAt {
		e := s.inRoom(tRoomLeave, u)
		e.Value = s.now - u.enterAt
		u.roomMs += e.Value
		s.continueOrEnd(i, 0.45)
		return
	}
	if u.funnel != fNone {
		s.funnelStep(i)
		s.nextRoomStep(i)
		return
	}
	rm := &s.rooms[u.room]
	a := u.aff
	fi := s.following(u, u.room)
	wFollow, wUnfollow := 0.0, 0.0
	if fi < 0 && a > 0.4 {
		wFollow = 3 * a
	} else if fi >= 0 {
		wUnfollow = 0.2 * (1 - a)
	}
	wProduct := 25.0
	if len(rm.lineup) == 0 {
		wProduct = 0
	}
	x := s.rng.Float64() * (40 + 15 + wProduct + 2*a + 1.5 + wFollow + wUnfollow)
	switch {
	case x < 40:
		e := s.inRoom(tLike, u)
		e.Value = 1 + s.rng.Int64N(3+int64(25*a))
	case x < 55:
		e := s.inRoom(tChat, u)
		if n := len(rm.lineup); n > 0 && s.chance(0.25) {
			links := s.linkChat[1+s.rng.IntN(n)]
			e.Text = links[s.rng.IntN(len(links))]
		} else {
			f := s.rng.Float64()
			e.Text = chatPhrases[int(f*f*float64(len(chatPhrases)))]
		}
	case x < 55+wProduct:
		j := int((s.now / (4 * minuteMs)) % int64(len(rm.lineup))) // the product being presented
		if s.chance(0.4) {
			j = s.rng.IntN(len(rm.lineup)) // scrolled the shelf (小黄车)
		}
		p := rm.lineup[j]
		e := s.inRoom(tProductImpr, u)
		e.ProductId, e.Position = s.products[p].id, int32(j+1)
		if s.chance(min(0.2, 0.005+0.1*a*(0.2+2*u.catPref(s.products[p].cat)))) {
			u.funnel, u.prod, u.pos = fClick, p, int32(j+1)
		}
	case x < 55+wProduct+2*a:
		e := s.inRoom(tGift, u)
		e.Value = s.giftValue()
	case x < 55+wProduct+2*a+1.5:
		s.inRoom(tShare, u)
	case x < 55+wProduct+2*a+1.5+wFollow:
		s.inRoom(tFollow, u)
		u.follows = append(u.follows, u.room)
	default:
		if fi >= 0 {
			s.inRoom(tUnfollow, u)
			u.follows = append(u.follows[:fi], u.follows[fi+1:]...)
		} else {
			s.inRoom(tShare, u)
		}
	}
	s.nextRoomStep(i)
}

func (s *Sim) giftValue() int64 {
	x := s.rng.IntN(100)
	for _, g := range giftValues {
		if x < g.weight {
			return g.fen
		}
		x -= g.weight
	}
	return giftValues[0].fen
}

// productEvent is an event about u.prod, in the current room or reached
// from the search request u.req.
func (s *Sim) productEvent(t tidev1.EventType, u *user) *tidev1.Event {
	var e *tidev1.Event
	if u.room >= 0 {
		e = s.inRoom(t, u)
	} else {
		e = s.viewer(t, u)
		e.RequestId = u.req
	}
	p := &s.products[u.prod]
	e.ProductId, e.MerchantId, e.Position = p.id, s.merchants[p.merchant].id, u.pos
	return e
}

// funnelStep advances the purchase funnel: click → cart → order.
func (s *Sim) funnelStep(i int32) {
	u := &s.users[i]
	p := &s.products[u.prod]
	switch u.funnel {
	case fClick:
		s.productEvent(tProductClick, u)
		u.funnel = fNone
		if s.chance(0.1 + 0.25*u.aff) {
			u.funnel, u.qty = fCart, s.qty()
		}
	case fCart:
		e := s.productEvent(tAddToCart, u)
		e.Value = p.price * u.qty
		u.funnel = fNone
		if s.chance(0.4) {
			u.funnel = fOrder
		}
	case fOrder:
		e := s.productEvent(tOrderCreated, u)
		e.Value = p.price * u.qty
		o := order{user: i, prod: u.prod, room: u.room, session: u.session, id: s.newID('o'), amount: e.Value}
		if u.room < 0 {
			o.session = ""
		}
		e.Attrs = map[string]string{"order_id": o.id}
		u.funnel = fNone
		if s.chance(0.85) {
			s.push(s.now+s.between(5000, 90_000), kPaid, s.newOrder(o))
		}
	}
}

func (s *Sim) qty() int64 {
	switch x := s.rng.IntN(100); {
	case x < 80:
		return 1
	case x < 95:
		return 2
	}
	return 3
}

func (s *Sim) newOrder(o order) int32 {
	if n := len(s.freeOrd); n > 0 {
		i := s.freeOrd[n-1]
		s.freeOrd = s.freeOrd[:n-1]
		s.orders[i] = o
		return i
	}
	s.orders = append(s.orders, o)
	return int32(len(s.orders) - 1)
}

func (s *Sim) orderEvent(t tidev1.EventType, o *order) {
	u := &s.users[o.user]
	e := s.viewer(t, u)
	p := &s.products[o.prod]
	e.ProductId, e.MerchantId, e.Value = p.id, s.merchants[p.merchant].id, o.amount
	if o.room >= 0 {
		e.RoomId, e.LiveSessionId = s.rooms[o.room].id, o.session
	}
	e.Attrs = map[string]string{"order_id": o.id}
}

func (s *Sim) orderPaid(i int32) {
	s.orderEvent(tOrderPaid, &s.orders[i])
	if s.chance(0.03) {
		s.push(s.now+5*minuteMs+s.expMs(1.0/float64(2*60*minuteMs)), kRefund, i)
		return
	}
	s.orders[i] = order{}
	s.freeOrd = append(s.freeOrd, i)
}

func (s *Sim) orderRefunded(i int32) {
	s.orderEvent(tOrderRefunded, &s.orders[i])
	s.orders[i] = order{}
	s.freeOrd = append(s.freeOrd, i)
}

// search issues a query in one of the user's favourite categories; most
// searches lead to a tapped result.
func (s *Sim) search(i int32) {
	u := &s.users[i]
	c := s.sampleCat(u)
	cat := &s.cats[c]
	e := s.viewer(tSearch, u)
	e.Text = cat.queries[s.rng.IntN(len(cat.queries))]
	e.RequestId = s.newID('q')
	if len(cat.products) > 0 && s.chance(0.6) {
		u.state, u.req, u.room = stSearch, e.RequestId, -1
		u.prod = cat.products[s.rng.IntN(len(cat.products))]
		u.aff = min(1, 2*u.catPref(c))
		s.push(s.now+s.between(2000, 10000), kUser, i)
		return
	}
	s.continueOrEnd(i, 0.5)
}

func (s *Sim) searchClick(i int32) {
	u := &s.users[i]
	p := &s.products[u.prod]
	u.pos = int32(s.rng.IntN(10))
	e := s.viewer(tSearchClick, u)
	e.ProductId, e.MerchantId, e.RequestId, e.Position = p.id, s.merchants[p.merchant].id, u.req, u.pos
	if s.chance(0.05 + 0.25*u.aff) {
		u.state, u.funnel, u.qty = stShop, fCart, s.qty()
		s.push(s.now+s.between(3000, 30000), kUser, i)
		return
	}
	s.continueOrEnd(i, 0.5)
}
