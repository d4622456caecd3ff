package features

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// room is the online state of one live room.
type room struct {
	win       windows
	last      int64 // ms of the latest event
	merchant  string
	live      bool
	session   string
	startedAt int64
	endedAt   int64
	statusAt  int64 // time of the STREAM_START/END that set live
	viewers   viewers
}

// product is the online state of one product.
type product struct {
	win      windows
	last     int64
	category string
	merchant string
	room     string // the room it was last seen in
}

// anchor is the online state of one anchor (merchant_id).
type anchor struct {
	win       windows
	last      int64
	liveRooms []string
}

// Store holds the online features of rooms, products, anchors and users. One
// goroutine applies events (Apply is serialised by a mutex, so a second
// writer is safe but gains nothing); any number read concurrently. Reads
// take one shard's read lock for the time of a copy.
type Store struct {
	cfg      config
	rooms    *table[room]
	products *table[product]
	anchors  *table[anchor]
	users    *table[user]
	names    *names // the ids users' lists name their items by

	wmu       sync.Mutex // serialises writers
	nextSweep int64      // guarded by wmu
	wm        atomic.Int64
	live      atomic.Pointer[[]string] // ids of live rooms, sorted; rebuilt when read after a change
	liveDirty atomic.Bool
	liveMu    sync.Mutex          // guards liveSet
	liveSet   map[string]struct{} // rooms that are live

	applied atomic.Int64 // events applied
	ignored atomic.Int64 // events without a usable time or type
	evicted atomic.Int64
	lag     lagHistogram

	filtered atomic.Int64 // events WithFilter's keep refused
}

// NewStore returns an empty store.
func NewStore(opts ...Option) *Store {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s := &Store{
		cfg:      cfg,
		rooms:    newTable[room](),
		products: newTable[product](),
		anchors:  newTable[anchor](),
		users:    newTable[user](),
		names:    newNames(),
		liveSet:  make(map[string]struct{}),
	}
	s.live.Store(&[]string{})
	return s
}

// eventTime is the time an event counts at: received_at (stamped by tide's
// servers, so comparable across clients), or the client's ts when missing.
func eventTime(e *tidev1.Event) int64 {
	if t := e.GetReceivedAt(); t > 0 {
		return t
	}
	return e.GetTs()
}

// Watermark is the event time the windows end at: the latest event time
// applied, or a later time given to Advance.
func (s *Store) Watermark() time.Time { return time.UnixMilli(s.wm.Load()).UTC() }

// Advance moves the watermark to t if it is later, so windows decay while no
// events arrive. Follow calls it with the wall clock when the topic is idle.
func (s *Store) Advance(t time.Time) {
	s.wmu.Lock()
	s.advance(t.UnixMilli())
	s.wmu.Unlock()
}

func (s *Store) advance(t int64) int64 {
	wm := s.wm.Load()
	if t > wm {
		wm = t
		s.wm.Store(t)
	}
	if wm >= s.nextSweep {
		s.nextSweep = wm + s.cfg.sweepEvery
		s.sweep(wm)
	}
	return wm
}

// Apply updates the features with one event. It does not keep e.
func (s *Store) Apply(e *tidev1.Event) {
	s.wmu.Lock()
	s.apply(e)
	s.wmu.Unlock()
}

// ApplyBatch applies events in order under one lock acquisition.
func (s *Store) ApplyBatch(es []*tidev1.Event) {
	s.wmu.Lock()
	for _, e := range es {
		s.apply(e)
	}
	s.wmu.Unlock()
}

// targets says which entities an event type counts for.
type targets uint8

const (
	tRoom targets = 1 << iota
	tProduct
	tAnchor
)

// counted returns the window updates and targets of e.
func counted(e *tidev1.Event, us *[2]update) ([]update, targets) {
	one := func(c counter, v int64, t targets) ([]update, targets) {
		us[0] = update{c: c, v: v}
		return us[:1], t
	}
	switch e.GetType() {
	case tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION:
		return one(cImpressions, 1, tRoom|tAnchor)
	case tidev1.EventType_EVENT_TYPE_ROOM_ENTER:
		return one(cEnters, 1, tRoom|tAnchor)
	case tidev1.EventType_EVENT_TYPE_CHAT:
		return one(cChats, 1, tRoom|tAnchor)
	case tidev1.EventType_EVENT_TYPE_LIKE:
		return one(cLikes, max(e.GetValue(), 1), tRoom|tAnchor)
	case tidev1.EventType_EVENT_TYPE_GIFT:
		us[0] = update{c: mGifts, money: true, v: e.GetValue()}
		return us[:1], tRoom | tAnchor
	case tidev1.EventType_EVENT_TYPE_SHARE:
		return one(cShares, 1, tRoom|tProduct|tAnchor)
	case tidev1.EventType_EVENT_TYPE_FOLLOW:
		return one(cFollows, 1, tRoom|tAnchor)
	case tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION:
		return one(cImpressions, 1, tProduct)
	case tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK:
		return one(cClicks, 1, tRoom|tProduct|tAnchor)
	case tidev1.EventType_EVENT_TYPE_ADD_TO_CART:
		return one(cCarts, 1, tRoom|tProduct|tAnchor)
	case tidev1.EventType_EVENT_TYPE_ORDER_PAID:
		us[0] = update{c: cOrders, v: 1}
		us[1] = update{c: mGMV, money: true, v: e.GetValue()}
		return us[:2], tRoom | tProduct | tAnchor
	}
	return nil, 0
}

func viewerID(e *tidev1.Event) string {
	if id := e.GetUserId(); id != "" {
		return id
	}
	return e.GetDeviceId()
}

func (s *Store) apply(e *tidev1.Event) {
	t := eventTime(e)
	if t <= 0 || e.GetType() == tidev1.EventType_EVENT_TYPE_UNSPECIFIED {
		s.ignored.Add(1)
		return
	}
	wm := s.advance(t)
	if s.cfg.keep != nil && !s.cfg.keep(e) {
		s.filtered.Add(1)
		return
	}
	var buf [2]update
	us, tg := counted(e, &buf)
	typ := e.GetType()

	if id := e.GetRoomId(); id != "" && (tg&tRoom != 0 || roomState(typ)) {
		s.applyRoom(id, e, typ, t, wm, us)
	}
	if id := e.GetProductId(); id != "" && (tg&tProduct != 0 || typ == tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED) {
		sh, p, _ := s.products.lockGet(id)
		p.win.add(t, wm, us)
		p.last = max(p.last, t)
		if c := e.GetAttrs()["category"]; c != "" && c != p.category {
			p.category = strings.Clone(c)
		}
		if m := e.GetMerchantId(); m != "" && m != p.merchant {
			p.merchant = strings.Clone(m)
		}
		if r := e.GetRoomId(); r != "" && r != p.room {
			p.room = strings.Clone(r)
		}
		sh.mu.Unlock()
	}
	if id := e.GetMerchantId(); id != "" && tg&tAnchor != 0 {
		sh, a, _ := s.anchors.lockGet(id)
		a.win.add(t, wm, us)
		a.last = max(a.last, t)
		sh.mu.Unlock()
	}
	if id := viewerID(e); id != "" && typ != tidev1.EventType_EVENT_TYPE_STREAM_START && typ != tidev1.EventType_EVENT_TYPE_STREAM_END {
		s.applyUser(id, e, typ, t)
	}
	s.applied.Add(1)
}

// roomState reports whether type t changes a room's state besides its counts.
func roomState(t tidev1.EventType) bool {
	switch t {
	case tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, tidev1.EventType_EVENT_TYPE_STREAM_START,
		tidev1.EventType_EVENT_TYPE_STREAM_END:
		return true
	}
	return false
}

func (s *Store) applyRoom(id string, e *tidev1.Event, typ tidev1.EventType, t, wm int64, us []update) {
	sh, r, _ := s.rooms.lockGet(id)
	r.win.add(t, wm, us)
	r.last = max(r.last, t)
	// Whose room it is: the platform's STREAM_START says; any other event
	// only names a room not known yet (a viewer's event carries the merchant
	// id its client chose, and must not re-own a room or block its end).
	owner := r.merchant
	if m := e.GetMerchantId(); m != "" && m != r.merchant &&
		(typ == tidev1.EventType_EVENT_TYPE_STREAM_START || (r.merchant == "" && typ != tidev1.EventType_EVENT_TYPE_STREAM_END)) {
		r.merchant = strings.Clone(m)
	}
	timeout := s.cfg.viewerTimeout
	var changed, nowLive bool
	switch typ {
	case tidev1.EventType_EVENT_TYPE_ROOM_ENTER:
		r.viewers.touch(viewerID(e), t, timeout, true)
	case tidev1.EventType_EVENT_TYPE_CHAT, tidev1.EventType_EVENT_TYPE_LIKE, tidev1.EventType_EVENT_TYPE_GIFT:
		r.viewers.touch(viewerID(e), t, timeout, false)
	case tidev1.EventType_EVENT_TYPE_ROOM_LEAVE:
		r.viewers.leave(viewerID(e))
	case tidev1.EventType_EVENT_TYPE_STREAM_START:
		if t >= r.statusAt {
			changed = !r.live
			r.live, nowLive, r.statusAt, r.startedAt = true, true, t, t
			if sid := e.GetLiveSessionId(); sid != r.session {
				r.session = strings.Clone(sid)
			}
		}
	case tidev1.EventType_EVENT_TYPE_STREAM_END:
		sid := e.GetLiveSessionId()
		if t >= r.statusAt && endsSession(r.live, r.session, owner, sid, e.GetMerchantId()) {
			changed = r.live
			r.live, r.statusAt, r.endedAt = false, t, t
			if r.session == "" && sid != "" { // the start was not seen (a warm-up loads only the latest status)
				r.session = strings.Clone(sid)
			}
			r.viewers.reset()
		}
	}
	r.viewers.expire(wm - timeout)
	merchant := r.merchant
	sh.mu.Unlock()
	if changed {
		s.setLive(id, merchant, nowLive, t)
	}
}

// endsSession reports whether a STREAM_END of session sid from merchant ends
// the state of a room (live or not, in session, of merchant owner). Only the
// end of the room's own session counts: an end from another merchant, or with
// an empty or another session id, is ignored, since it would let any sender
// end any room. A room live without a session id (a start that carried none)
// ends by an end without one. A room that is not live and knows no session
// takes any end of its merchant (a warm-up loads only the latest status).
func endsSession(live bool, session, owner, sid, merchant string) bool {
	if merchant != "" && owner != "" && merchant != owner {
		return false
	}
	if !live && session == "" {
		return true
	}
	return sid == session
}

// setLive updates the live-room index and the anchor's live rooms. Called
// with wmu held.
func (s *Store) setLive(roomID, merchant string, live bool, t int64) {
	s.liveMu.Lock()
	if live {
		s.liveSet[strings.Clone(roomID)] = struct{}{}
	} else {
		delete(s.liveSet, roomID)
	}
	s.liveDirty.Store(true)
	s.liveMu.Unlock()
	if merchant == "" {
		return
	}
	if !live {
		sh := s.anchors.shard(merchant)
		sh.mu.Lock()
		if a := sh.m[merchant]; a != nil {
			a.last = max(a.last, t)
			a.liveRooms = slices.DeleteFunc(a.liveRooms, func(r string) bool { return r == roomID })
		}
		sh.mu.Unlock()
		return
	}
	sh, a, _ := s.anchors.lockGet(merchant)
	a.last = max(a.last, t)
	a.liveRooms = slices.DeleteFunc(a.liveRooms, func(r string) bool { return r == roomID })
	a.liveRooms = append(a.liveRooms, strings.Clone(roomID))
	sh.mu.Unlock()
}

func (s *Store) applyUser(id string, e *tidev1.Event, typ tidev1.EventType, t int64) {
	w, lim := &s.cfg.weights, &s.cfg.limits
	sh, u, _ := s.users.lockGet(id)
	defer sh.mu.Unlock()
	u.last = max(u.last, t)
	n := lim.Recent
	room, merchant, prod := e.GetRoomId(), e.GetMerchantId(), e.GetProductId()
	roomEvent := func(wt float32) {
		u.rooms.touch(s.names, room, t, wt, n, 0)
		u.anchors.touch(s.names, merchant, t, wt, n, 0)
	}
	productEvent := func(wt float32) {
		cat := s.category(e)
		u.products.touch(s.names, prod, t, wt, n, 0)
		u.categories.touch(s.names, cat, t, wt, n, 0)
		u.anchors.touch(s.names, merchant, t, wt, n, 0)
	}
	switch typ {
	case tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION:
		u.roomImps.touch(s.names, room, t, 0, lim.Impressions, lim.ImpressionReset.Milliseconds())
	case tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION:
		u.productImps.touch(s.names, prod, t, 0, lim.Impressions, lim.ImpressionReset.Milliseconds())
	case tidev1.EventType_EVENT_TYPE_ROOM_ENTER:
		roomEvent(w.Enter)
	case tidev1.EventType_EVENT_TYPE_ROOM_LEAVE:
		d := w.dwell(e.GetValue())
		roomEvent(d)
		u.left.touch(s.names, room, t, 0, lim.Left, 0)
		if i := len(u.left) - 1; i >= 0 {
			u.left[i].strength = float32(e.GetValue()) / 1000 // dwell of the latest leave, seconds
		}
	case tidev1.EventType_EVENT_TYPE_CHAT:
		roomEvent(w.Chat)
	case tidev1.EventType_EVENT_TYPE_LIKE:
		roomEvent(w.Like)
	case tidev1.EventType_EVENT_TYPE_GIFT:
		roomEvent(w.Gift)
	case tidev1.EventType_EVENT_TYPE_SHARE:
		if prod != "" {
			productEvent(w.Share)
		} else {
			roomEvent(w.Share)
		}
	case tidev1.EventType_EVENT_TYPE_FOLLOW:
		roomEvent(w.Follow)
		u.follows.touch(s.names, merchant, t, 0, lim.Follows, 0)
	case tidev1.EventType_EVENT_TYPE_UNFOLLOW:
		u.follows.remove(s.names, merchant)
	case tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, tidev1.EventType_EVENT_TYPE_SEARCH_CLICK:
		productEvent(w.Click)
	case tidev1.EventType_EVENT_TYPE_ADD_TO_CART:
		productEvent(w.Cart)
	case tidev1.EventType_EVENT_TYPE_ORDER_PAID:
		productEvent(w.Order)
		u.bought.touch(s.names, prod, t, 0, lim.Bought, 0)
	}
}

// category is the product's category: attrs["category"], else the one a
// PRODUCT_CHANGED event named, else the Catalog's.
func (s *Store) category(e *tidev1.Event) string {
	if c := e.GetAttrs()["category"]; c != "" {
		return c
	}
	id := e.GetProductId()
	if id == "" {
		return ""
	}
	sh := s.products.shard(id)
	sh.mu.RLock()
	var c string
	if p := sh.m[id]; p != nil {
		c = p.category
	}
	sh.mu.RUnlock()
	if c == "" && s.cfg.catalog != nil {
		c = s.cfg.catalog.Category(id)
	}
	return c
}
