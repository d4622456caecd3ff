package memory

import (
	"time"

	"github.com/tide-live/tide/features"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Builder accumulates events in process into what Load reads from
// ClickHouse — the latest follow or unfollow of each viewer and anchor,
// weighted engagement per anchor and per product category, the price band,
// the same caps —
// for replays and simulations that have no ClickHouse. It keeps every
// event it is given: the caller feeds it the lookback it wants.
type Builder struct {
	o       Options
	follows map[pair]followState
	anchors map[pair]*features.Engagement
	cats    map[pair]*features.Engagement
	touches map[pair]*productTouch
}

type pair struct{ user, id string }

type followState struct {
	on   bool
	last int64
}

// NewBuilder returns an empty builder with o's weights and caps.
func NewBuilder(o Options) *Builder {
	o.defaults()
	return &Builder{o: o, follows: map[pair]followState{}, anchors: map[pair]*features.Engagement{},
		cats: map[pair]*features.Engagement{}, touches: map[pair]*productTouch{}}
}

// Add folds e in (events in received order).
func (b *Builder) Add(e *tidev1.Event) {
	u, m := e.GetUserId(), e.GetMerchantId()
	if u == "" {
		return
	}
	t := e.GetReceivedAt()
	if t == 0 {
		t = e.GetTs()
	}
	w := b.o.Weights
	b.touch(e)
	var aw, cw float32
	switch e.GetType() {
	case tidev1.EventType_EVENT_TYPE_FOLLOW, tidev1.EventType_EVENT_TYPE_UNFOLLOW:
		if m != "" {
			b.follows[pair{u, m}] = followState{on: e.GetType() == tidev1.EventType_EVENT_TYPE_FOLLOW, last: t}
		}
		if e.GetType() == tidev1.EventType_EVENT_TYPE_FOLLOW {
			aw = w.Follow
		} else {
			return
		}
	case tidev1.EventType_EVENT_TYPE_ROOM_ENTER:
		aw = w.Enter
	case tidev1.EventType_EVENT_TYPE_CHAT:
		aw = w.Chat
	case tidev1.EventType_EVENT_TYPE_LIKE:
		aw = w.Like
	case tidev1.EventType_EVENT_TYPE_GIFT:
		aw = w.Gift
	case tidev1.EventType_EVENT_TYPE_SHARE:
		aw = w.Share
	case tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK:
		aw, cw = w.Click, w.Click
	case tidev1.EventType_EVENT_TYPE_ADD_TO_CART:
		aw, cw = w.Cart, w.Cart
	case tidev1.EventType_EVENT_TYPE_ORDER_PAID:
		aw, cw = w.Order, w.Order
	default:
		return
	}
	if m != "" {
		bump(b.anchors, pair{u, m}, aw, t)
	}
	if c := e.GetAttrs()["category"]; c != "" && cw > 0 {
		bump(b.cats, pair{u, c}, cw, t)
	}
}

// touch counts e into the viewer's per-product price evidence.
func (b *Builder) touch(e *tidev1.Event) {
	p := e.GetProductId()
	if p == "" {
		return
	}
	var pt *productTouch
	get := func() *productTouch {
		if pt = b.touches[pair{e.GetUserId(), p}]; pt == nil {
			pt = &productTouch{}
			b.touches[pair{e.GetUserId(), p}] = pt
		}
		return pt
	}
	switch e.GetType() {
	case tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK:
		get().clicks++
	case tidev1.EventType_EVENT_TYPE_ADD_TO_CART:
		get().carts++
	case tidev1.EventType_EVENT_TYPE_ORDER_PAID:
		get().paid++
		pt.paidFen += e.GetValue()
	}
}

func bump(to map[pair]*features.Engagement, k pair, w float32, t int64) {
	e := to[k]
	if e == nil {
		e = &features.Engagement{ID: k.id}
		to[k] = e
	}
	e.Strength += float64(w)
	e.Count++
	if last := time.UnixMilli(t).UTC(); last.After(e.Last) {
		e.Last = last
	}
}

// Memory returns a snapshot of what was added so far.
func (b *Builder) Memory() *Memory {
	vs := map[string]*viewer{}
	get := func(u string) *viewer {
		v := vs[u]
		if v == nil {
			v = &viewer{}
			vs[u] = v
		}
		return v
	}
	for k, f := range b.follows {
		if f.on {
			v := get(k.user)
			v.follows = append(v.follows, features.Engagement{ID: k.id, Last: time.UnixMilli(f.last).UTC(), Strength: 1, Count: 1})
		}
	}
	for k, e := range b.anchors {
		v := get(k.user)
		v.anchors = append(v.anchors, *e)
	}
	for k, e := range b.cats {
		v := get(k.user)
		v.categories = append(v.categories, *e)
	}
	stats := map[string]*features.PriceStats{}
	for k, t := range b.touches {
		st := stats[k.user]
		if st == nil {
			st = &features.PriceStats{}
			stats[k.user] = st
		}
		b.o.addPrice(st, k.id, *t)
	}
	for u, st := range stats {
		get(u).price = st.Band()
	}
	for _, v := range vs {
		v.anchors = top(v.anchors, b.o.MaxAnchors)
		v.categories = top(v.categories, b.o.MaxCategories)
		byRecency(v.follows)
	}
	m := &Memory{}
	m.p.Store(&vs)
	return m
}
