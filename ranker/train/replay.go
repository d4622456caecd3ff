package train

import (
	"slices"
	"time"

	"github.com/tide-live/tide/features"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
)

// SamplerConfig controls how impressions become CTR samples.
type SamplerConfig struct {
	// EnterWindow is how soon after a ROOM_IMPRESSION a ROOM_ENTER of the
	// same viewer and room makes the impression positive (default 2 min).
	EnterWindow time.Duration
	// ClickWindow is the same for PRODUCT_IMPRESSION → PRODUCT_CLICK
	// (default 2 min).
	ClickWindow time.Duration
	// HistoryLen caps the CF history taken from the viewer's recency lists
	// (default 50).
	HistoryLen int
	// Products also samples product impressions.
	Products bool
	// Keep is the fraction of viewers whose impressions are sampled (by a
	// hash of the viewer id, so a viewer's impressions are all in or all
	// out); 0 or 1 keeps every viewer. It bounds the samples' memory.
	Keep float64
}

// DefaultSamplerConfig returns the production settings.
func DefaultSamplerConfig() SamplerConfig {
	return SamplerConfig{EnterWindow: 2 * time.Minute, ClickWindow: 2 * time.Minute, HistoryLen: 50, Products: true}
}

// Sampler replays an event stream, in received order, through an online
// features store and turns every impression from a start time on into a
// CTR sample: the candidate's features as serving would have built them at
// that moment (before the impression is applied), labelled positive when
// the enter or click follows within the window. It is the training half of
// what serving does, so the CTR model sees the features it will be served.
//
// CF scores come from the given ranker models (trained on interactions
// before the start, so they do not know the future); a nil model gives
// every candidate an unknown CF score.
type Sampler struct {
	cfg      SamplerConfig
	store    *features.Store
	anchors  *ranker.Model
	products *ranker.Model
	from     int64 // ms

	// Rooms and Products are the samples so far.
	Rooms, Products ctr.Samples

	merchant map[string]string // room → anchor
	cats     map[string]*tally // room → categories of the products shown or sold in it
	pending  map[string][]pend // viewer → recent impressions
	nextGC   int64

	req       reqCache
	uf        features.UserFeatures
	prodCache map[string]*prodScores
	hist      ranker.History
	items     []ranker.ItemID
	scores    []float64
	oneItem   [1]ranker.ItemID
	oneScore  [1]float64
	applied   int64
}

type pend struct {
	id      string // room or product
	t       int64
	idx     int32
	product bool
}

type tally struct {
	cats []string
	n    []int32
	best int
}

func (t *tally) add(c string) {
	for i, x := range t.cats {
		if x == c {
			t.n[i]++
			if t.n[i] > t.n[t.best] {
				t.best = i
			}
			return
		}
	}
	t.cats, t.n = append(t.cats, c), append(t.n, 1)
}

// reqCache is the viewer context of the feed request being replayed.
type reqCache struct {
	user, req string
	t         int64
	u         ctr.User
	cf        map[string]float64 // anchor → normalised CF, over the live rooms
	known     bool
}

// prodScores are one viewer's CF scores of every product.
type prodScores struct {
	sig    int64 // time of the latest product engagement in the history
	n      int   // and the history's length
	max    float64
	scores []float32
}

// prodCacheSize bounds the viewers whose product scores are kept.
const prodCacheSize = 512

// NewSampler returns a sampler applying events to store and sampling the
// impressions at or after from.
func NewSampler(store *features.Store, anchors, products *ranker.Model, from time.Time, cfg SamplerConfig) *Sampler {
	d := DefaultSamplerConfig()
	if cfg.EnterWindow <= 0 {
		cfg.EnterWindow = d.EnterWindow
	}
	if cfg.ClickWindow <= 0 {
		cfg.ClickWindow = d.ClickWindow
	}
	if cfg.HistoryLen <= 0 {
		cfg.HistoryLen = d.HistoryLen
	}
	return &Sampler{
		cfg: cfg, store: store, anchors: anchors, products: products, from: from.UnixMilli(),
		merchant: map[string]string{}, cats: map[string]*tally{}, pending: map[string][]pend{},
		prodCache: map[string]*prodScores{}, req: reqCache{cf: map[string]float64{}},
	}
}

// SetModels replaces the CF models (e.g. with ones trained on more data).
func (s *Sampler) SetModels(anchors, products *ranker.Model) {
	s.anchors, s.products = anchors, products
	s.req.user, s.req.req = "", ""
	clear(s.prodCache)
}

// TakeSamples returns the samples so far and starts new ones; impressions
// still waiting for their enter or click are forgotten.
func (s *Sampler) TakeSamples() (rooms, products ctr.Samples) {
	rooms, products = s.Rooms, s.Products
	s.Rooms, s.Products = ctr.Samples{}, ctr.Samples{}
	clear(s.pending)
	return rooms, products
}

// Store is the features store the sampler applies events to.
func (s *Sampler) Store() *features.Store { return s.store }

// Applied is the number of events applied.
func (s *Sampler) Applied() int64 { return s.applied }

// RoomCategory is the category of room id as the stream tells it: the
// commonest category of the products shown or sold in it ("" if none).
func (s *Sampler) RoomCategory(id string) string {
	if t := s.cats[id]; t != nil {
		return t.cats[t.best]
	}
	return ""
}

func eventTime(e *tidev1.Event) int64 {
	if t := e.GetReceivedAt(); t > 0 {
		return t
	}
	return e.GetTs()
}

func viewer(e *tidev1.Event) string {
	if id := e.GetUserId(); id != "" {
		return id
	}
	return e.GetDeviceId()
}

// Apply samples e if it is an impression at or after the start, labels the
// impression an enter or click answers, and applies e to the store.
func (s *Sampler) Apply(e *tidev1.Event) {
	t := eventTime(e)
	who := viewer(e)
	switch e.GetType() {
	case tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION:
		if t >= s.from && who != "" && e.GetRoomId() != "" && s.kept(who) {
			var x ctr.Features
			s.BuildRoom(&x, who, e.GetRequestId(), t, e.GetRoomId())
			i := s.Rooms.Add(&x, t)
			s.pend(who, pend{id: e.GetRoomId(), t: t, idx: int32(i)})
		}
	case tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION:
		if s.cfg.Products && t >= s.from && who != "" && e.GetProductId() != "" && s.kept(who) {
			var x ctr.Features
			s.buildProduct(&x, who, t, e)
			i := s.Products.Add(&x, t)
			s.pend(who, pend{id: e.GetProductId(), t: t, idx: int32(i), product: true})
		}
	case tidev1.EventType_EVENT_TYPE_ROOM_ENTER:
		s.label(who, e.GetRoomId(), false, t-s.cfg.EnterWindow.Milliseconds())
	case tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK:
		s.label(who, e.GetProductId(), true, t-s.cfg.ClickWindow.Milliseconds())
	}
	if r, m := e.GetRoomId(), e.GetMerchantId(); r != "" && m != "" && e.GetProductId() == "" {
		if s.merchant[r] != m {
			s.merchant[r] = m
		}
	}
	s.store.Apply(e)
	s.applied++
	if p, r := e.GetProductId(), e.GetRoomId(); p != "" && r != "" {
		switch e.GetType() {
		case tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION, tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK,
			tidev1.EventType_EVENT_TYPE_ORDER_PAID:
			if c := s.store.Product(p).Category; c != "" {
				tl := s.cats[r]
				if tl == nil {
					tl = &tally{}
					s.cats[r] = tl
				}
				tl.add(c)
			}
		}
	}
	if t >= s.nextGC {
		s.gc(t)
		s.nextGC = t + 10*time.Minute.Milliseconds()
	}
}

func (s *Sampler) pend(who string, p pend) {
	l := s.pending[who]
	w := max(s.cfg.EnterWindow, s.cfg.ClickWindow).Milliseconds()
	k := 0
	for k < len(l) && l[k].t < p.t-w {
		k++
	}
	if k > 0 {
		l = append(l[:0], l[k:]...)
	}
	s.pending[who] = append(l, p)
}

// label marks the latest unlabelled impression of id to who since floor.
func (s *Sampler) label(who, id string, product bool, floor int64) {
	l := s.pending[who]
	for i := len(l) - 1; i >= 0 && l[i].t >= floor; i-- {
		p := &l[i]
		if p.product != product || p.id != id || p.idx < 0 {
			continue
		}
		if product {
			s.Products.Label(int(p.idx))
		} else {
			s.Rooms.Label(int(p.idx))
		}
		p.idx = -1
		return
	}
}

// gc forgets impressions too old to be answered.
func (s *Sampler) gc(now int64) {
	w := max(s.cfg.EnterWindow, s.cfg.ClickWindow).Milliseconds()
	for who, l := range s.pending {
		if len(l) == 0 || l[len(l)-1].t < now-w {
			delete(s.pending, who)
		}
	}
}

// request prepares the viewer context of a feed request by who at t: the
// viewer's features and the normalised CF score of every anchor with a live
// room. Impressions of one request share it, so they see the state before
// the page was shown.
func (s *Sampler) request(who, req string, t int64) *reqCache {
	c := &s.req
	if c.user == who && c.req == req && (req != "" || c.t == t) {
		return c
	}
	c.user, c.req, c.t = who, req, t
	s.store.UserInto(who, &s.uf)
	c.u.Reset(&s.uf, time.UnixMilli(t))
	clear(c.cf)
	c.known = false
	if s.anchors == nil {
		return c
	}
	s.hist = ctr.History(s.anchors, s.uf.Anchors, s.cfg.HistoryLen, s.hist)
	if len(s.hist) == 0 {
		return c
	}
	c.known = true
	s.items = s.items[:0]
	var names []string
	for _, r := range s.store.LiveRoomIDs() {
		m := s.merchant[r]
		if m == "" {
			continue
		}
		if _, dup := c.cf[m]; dup {
			continue
		}
		c.cf[m] = 0
		it, ok := s.anchors.Item(m)
		if !ok {
			it = -1
		}
		s.items = append(s.items, it)
		names = append(names, m)
	}
	s.scores = slices.Grow(s.scores[:0], len(s.items))[:len(s.items)]
	ctr.CFScores(s.anchors, s.hist, s.items, s.scores)
	for i, m := range names {
		c.cf[m] = s.scores[i]
	}
	return c
}

// BuildRoom builds into x the features of room for viewer who, shown in
// feed request req at t, as of the store's current state: call it before
// applying the impression.
func (s *Sampler) BuildRoom(x *ctr.Features, who, req string, t int64, room string) {
	c := s.request(who, req, t)
	r := s.store.Room(room)
	cf := -1.0
	if c.known {
		if v, ok := c.cf[r.MerchantID]; ok {
			cf = v
		} else if it, ok := s.anchors.Item(r.MerchantID); ok { // a room that is not live
			s.oneItem[0] = it
			s.anchors.ScoreInto(s.hist, s.oneItem[:], s.oneScore[:])
			cf = max(0, min(1, s.oneScore[0]))
		}
	}
	c.u.Room(x, &r, s.RoomCategory(room), cf)
}

// buildProduct builds the features of the product impression e.
func (s *Sampler) buildProduct(x *ctr.Features, who string, t int64, e *tidev1.Event) {
	s.store.UserInto(who, &s.uf)
	var u *ctr.User = &s.req.u
	s.req.user = "" // the request context is overwritten
	u.Reset(&s.uf, time.UnixMilli(t))
	p := s.store.Product(e.GetProductId())
	var room *features.RoomFeatures
	if id := e.GetRoomId(); id != "" {
		r := s.store.Room(id)
		room = &r
	}
	cf := -1.0
	if s.products != nil {
		if it, ok := s.products.Item(p.ID); ok {
			s.hist = ctr.History(s.products, s.uf.Products, s.cfg.HistoryLen, s.hist)
			if len(s.hist) > 0 {
				cf = s.productCF(who, it)
			}
		}
	}
	u.Product(x, &p, room, cf)
}

// productCF is the product's CF score for the history in s.hist,
// normalised by the best score over all products. A viewer's scores are
// computed once per change of their product history and kept for the
// most recent viewers (product impressions come in bursts while a viewer
// watches a room).
func (s *Sampler) productCF(who string, it ranker.ItemID) float64 {
	last := s.hist[len(s.hist)-1].Time
	c := s.prodCache[who]
	if c == nil || c.sig != last || c.n != len(s.hist) {
		if c == nil {
			if len(s.prodCache) >= prodCacheSize {
				for k, v := range s.prodCache { // evict any one, reusing its scores
					delete(s.prodCache, k)
					c = v
					break
				}
			} else {
				c = &prodScores{}
			}
			s.prodCache[who] = c
		}
		n := s.products.NumItems()
		if len(c.scores) < n {
			c.scores = make([]float32, n)
		}
		s.products.ScoreAll(s.hist, c.scores)
		c.max = 0
		for _, v := range c.scores[:n] {
			c.max = max(c.max, float64(v))
		}
		c.sig, c.n = last, len(s.hist)
	}
	if c.max <= 0 {
		return 0
	}
	return max(0, min(1, float64(c.scores[it])/c.max))
}
