// Package feedeval evaluates the served room feed: it replays a simulated
// day through feed.Service itself — candidates, hydrate, score, re-rank —
// and measures where the room the viewer then entered stood in what the
// feed would have shown.
//
// Protocol (Run). live/livesim generates a seeded world with an
// exploration slice (a share of feed pages drawn uniformly from the live
// rooms), played once in time order. As in tide train, days 1…D−2 train an
// early users × anchors CF model; day D−1's impressions become CTR samples
// (train.Sampler: online features as serving would see them, CF from the
// early model); at the end of day D−1 the CTR model is fitted and the CF
// model retrained on days 1…D−1. Day D is the evaluation: at the first
// impression of every simulated feed page the scorers below each rank the
// viewer's room feed through feed.Service (page size MaxPageSize, on a
// features store that has seen every event so far, with tide serve's
// TTLs); when the viewer enters a room from that page, its position in each
// feed gives HR@K and NDCG@K (a room the feed did not show is a miss).
//
// Scorers: served (feed.Service with the trained CTR artifact, the CF
// model and the viewers' long-term memory — features/memory, built from the
// events so far and rebuilt every 10 simulated minutes as tide serve
// reloads it — what tide serve runs), served without memory, previous (the same service without the CTR
// artifact: the hand-set weights served before), popularity (the feed's
// popularity arm, whose re-ranking rules apply to it too), plain
// popularity (the live rooms ordered by their anchor's share of the
// training interactions, no feed rules: the stronger popularity baseline,
// the one the last line reports) and random (the expectation of a random
// order of the rooms live at the request).
package feedeval

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/features/memory"
	"github.com/tide-live/tide/features/offline"
	"github.com/tide-live/tide/live"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
	"github.com/tide-live/tide/ranker/train"
	"github.com/tide-live/tide/serving/feed"
)

// Options configure Run.
type Options struct {
	Seed      int64
	Users     int       // simulated users (default 5000)
	Merchants int       // simulated merchants (default 200)
	Days      int       // simulated days, at least 3 (default 4)
	Start     time.Time // simulated start (default 2025-06-02 00:00 Asia/Shanghai)
	K         int       // cut-off (default 10)
	// ExploreShare is the simulator's exploration slice (default 0.1;
	// negative: none).
	ExploreShare float64
	// UserTTL is how long the served features store keeps an idle viewer
	// (default 6 h, tide serve's).
	UserTTL time.Duration
	// Tuning is the feed's (default feed.DefaultTuning()).
	Tuning *feed.Tuning
	// Progress, if set, is called with the simulated day being played and
	// named training stages.
	Progress func(stage string, done, total int)
}

// Report is what Run measured.
type Report struct {
	Events     int64   // events played
	Enters     int     // day-D enters evaluated
	Unranked   int     // day-D enters without a request, or whose room was not live at it
	Requests   int     // day-D feed pages evaluated
	Candidates float64 // mean live rooms in the served feed per evaluated request
	MeanLive   float64 // mean live rooms per evaluated request
	CTRSamples int     // day D−1 impressions the CTR model was fitted on
	CTRAUC     float64 // its AUC on day D's impressions
	CTR        *ctr.Model
	// Served, NoMemory, Previous, PopFeed, Pop and Random are the
	// scorers' figures.
	Served, NoMemory, Previous, PopFeed, Pop, Random Result
	Elapsed                                          time.Duration
}

// scorers are the services evaluated, in Report order.
const (
	sServed = iota
	sNoMemory
	sPrevious
	sPop
	nServices
)

// page is one viewer's pending feed page of the evaluated day.
type page struct {
	req     string
	explore bool
	live    int
	shown   [nServices]map[string]int // room → position
	byPop   map[string]int            // room → rank by its anchor's popularity
}

// catalog gives the features stores the simulated products' categories.
type catalog map[string]string

func (c catalog) Category(id string) string { return c[id] }

// Run plays the simulation and evaluates (see the package comment).
func Run(ctx context.Context, o Options) (*Report, error) {
	began := time.Now()
	o.defaults()
	if o.Days < 3 {
		return nil, fmt.Errorf("feedeval: %d days; need at least 3 (history, CTR, evaluation)", o.Days)
	}
	progress := func(stage string, d, t int) {
		if o.Progress != nil {
			o.Progress(stage, d, t)
		}
	}
	simOpts := []livesim.Option{livesim.WithSeed(o.Seed), livesim.WithUsers(o.Users), livesim.WithMerchants(o.Merchants), livesim.WithStart(o.Start)}
	if o.ExploreShare > 0 {
		simOpts = append(simOpts, livesim.WithExploreShare(o.ExploreShare))
	}
	sim := livesim.New(simOpts...)
	cat := catalog{}
	for _, p := range sim.Products() {
		cat[p.ID] = p.Category
	}
	fcat := feed.NewCatalog()
	for _, r := range sim.Rooms() {
		fcat.PutRooms(feed.RoomInfo{Room: live.Room{ID: r.ID, MerchantID: r.MerchantID, Category: r.Category}})
	}
	day := 24 * time.Hour
	t1 := o.Start.Add(time.Duration(o.Days-2) * day)
	t2, t3 := t1.Add(day), t1.Add(2*day)

	// Training, as tide train does it: the sampler's store keeps viewers
	// for the CTR period and its warm-up.
	acc := train.NewAccumulator(offline.DefaultWeights())
	scfg := train.DefaultSamplerConfig()
	scfg.Products = false
	smp := train.NewSampler(features.NewStore(features.WithCatalog(cat), features.WithUserTTL(2*day+time.Hour),
		features.WithTTL(65*time.Minute, 48*time.Hour)), nil, nil, t1, scfg)
	// Serving: tide serve's features store.
	served := features.NewStore(features.WithCatalog(cat), features.WithUserTTL(o.UserTTL))

	ev := &evaluator{o: &o, store: served, builder: memory.NewBuilder(memory.Options{}), visited: map[string]struct{}{}, pending: map[string]*page{}}
	rep := &Report{Served: Result{Name: "served"}, NoMemory: Result{Name: "served, no memory"}, Previous: Result{Name: "previous (hand-set)"},
		PopFeed: Result{Name: "popularity (feed)"}, Pop: Result{Name: "popularity (plain)"}, Random: Result{Name: "random"}}
	phase, lastDay := 0, -1
	for {
		e := sim.Next()
		t := time.UnixMilli(e.GetTs())
		if !t.Before(t3) {
			break
		}
		ev.now = t
		if d := int(t.Sub(o.Start) / day); d != lastDay {
			lastDay = d
			progress("simulated day", d, o.Days)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if phase == 0 && !t.Before(t1) {
			phase = 1
			m, err := ranker.Train(ctx, acc.Interactions(offline.Anchors, t1), train.AnchorsConfig(), ranker.WithVersion("early"))
			if err != nil {
				return nil, fmt.Errorf("feedeval: early CF model: %w", err)
			}
			progress("early CF model", 1, 1)
			smp.SetModels(m, nil)
		}
		if phase == 1 && !t.Before(t2) {
			phase = 2
			m, err := ranker.Train(ctx, acc.Interactions(offline.Anchors, t2), train.AnchorsConfig(), ranker.WithVersion("final"))
			if err != nil {
				return nil, fmt.Errorf("feedeval: CF model: %w", err)
			}
			samples, _ := smp.TakeSamples()
			rep.CTRSamples = samples.Len()
			cm, err := ctr.Train(ctx, ctr.Rooms, samples, ctr.DefaultConfig())
			if err != nil {
				return nil, fmt.Errorf("feedeval: CTR model: %w", err)
			}
			progress("CF and CTR models", 1, 1)
			rep.CTR = cm
			smp.SetModels(m, nil)
			if err := ev.services(m, &ctr.Artifact{Rooms: cm, Version: "eval"}, fcat); err != nil {
				return nil, err
			}
		}
		if phase == 2 {
			switch e.GetType() {
			case tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION:
				if err := ev.open(ctx, e); err != nil {
					return nil, err
				}
			case tidev1.EventType_EVENT_TYPE_ROOM_ENTER:
				ev.close(e, rep)
			}
		}
		if e.GetType() == tidev1.EventType_EVENT_TYPE_ROOM_ENTER {
			ev.visit(e)
		}
		acc.Add(e)
		ev.remember(e)
		smp.Apply(e)
		served.Apply(e)
		rep.Events++
	}
	if phase < 2 {
		return nil, fmt.Errorf("feedeval: the simulation ended before the evaluation day")
	}
	progress("simulated day", o.Days, o.Days)
	rep.CTRAUC, _ = rep.CTR.Evaluate(smp.Rooms)
	for _, r := range []*Result{&rep.Served, &rep.NoMemory, &rep.Previous, &rep.PopFeed, &rep.Pop, &rep.Random} {
		r.finish()
	}
	rep.Enters, rep.Unranked, rep.Requests = rep.Served.All.Users, ev.unranked, ev.requests
	if ev.requests > 0 {
		rep.Candidates = float64(ev.candSum) / float64(ev.requests)
		rep.MeanLive = float64(ev.liveSum) / float64(ev.requests)
	}
	rep.Elapsed = time.Since(began)
	return rep, nil
}

func (o *Options) defaults() {
	if o.Users <= 0 {
		o.Users = 5000
	}
	if o.Merchants <= 0 {
		o.Merchants = 200
	}
	if o.Days == 0 {
		o.Days = 4
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2025, 6, 1, 16, 0, 0, 0, time.UTC) // 00:00 in Shanghai
	}
	if o.K <= 0 {
		o.K = 10
	}
	if o.ExploreShare == 0 {
		o.ExploreShare = 0.1
	}
	if o.UserTTL <= 0 {
		o.UserTTL = 6 * time.Hour
	}
	if o.Tuning == nil {
		t := feed.DefaultTuning()
		o.Tuning = &t
	}
}

// evaluator asks the feeds at each page and scores the enters.
type evaluator struct {
	o       *Options
	store   *features.Store
	anchors *ranker.Model
	svcs    [nServices]*feed.Service
	now     time.Time           // the simulated clock
	visited map[string]struct{} // user \x00 anchor
	pending map[string]*page    // by user

	mem     memoryRef
	builder *memory.Builder
	memAt   time.Time // when mem was last rebuilt

	refreshed time.Time
	liveFirst *string
	liveN     int

	rooms []features.RoomFeatures
	pops  []roomPop

	unranked, requests int
	candSum, liveSum   int
}

// services builds the evaluated feeds over the served store.
func (ev *evaluator) services(anchors *ranker.Model, art *ctr.Artifact, cat *feed.Catalog) error {
	ev.anchors = anchors
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := []feed.Option{feed.WithAnchorModel(ranker.NewStore(anchors)), feed.WithCatalog(cat),
		feed.WithTuning(*ev.o.Tuning), feed.WithClock(func() time.Time { return ev.now }), feed.WithLogger(quiet)}
	variants := [nServices][]feed.Option{
		sServed:   {feed.WithCTRModel(ctr.NewStore(art)), feed.WithMemory(&ev.mem)},
		sNoMemory: {feed.WithCTRModel(ctr.NewStore(art))},
		sPrevious: nil,
		sPop:      {feed.WithDefaultRanker(feed.RankerPopularity)},
	}
	for i, v := range variants {
		svc, err := feed.New(ev.store, append(append([]feed.Option{}, base...), v...)...)
		if err != nil {
			return fmt.Errorf("feedeval: %w", err)
		}
		ev.svcs[i] = svc
	}
	return nil
}

// visit records an enter's anchor for the viewer.
func (ev *evaluator) visit(e *tidev1.Event) {
	ev.visited[e.GetUserId()+"\x00"+e.GetMerchantId()] = struct{}{}
}

// refresh rebuilds the feeds' room snapshots when the live set changed or
// a simulated second passed: the replay runs far faster than the clock the
// feeds' own refresh follows.
func (ev *evaluator) refresh() {
	ids := ev.store.LiveRoomIDs()
	var first *string
	if len(ids) > 0 {
		first = &ids[0]
	}
	if first == ev.liveFirst && len(ids) == ev.liveN && ev.now.Sub(ev.refreshed) < time.Second {
		return
	}
	ev.liveFirst, ev.liveN, ev.refreshed = first, len(ids), ev.now
	for _, s := range ev.svcs {
		s.RefreshRooms()
	}
}

// open asks every feed for the viewer's rooms at the first impression of a
// simulated page (before the impression is applied).
func (ev *evaluator) open(ctx context.Context, e *tidev1.Event) error {
	who := e.GetUserId()
	if who == "" {
		return nil
	}
	p := ev.pending[who]
	if p != nil && p.req == e.GetRequestId() {
		return nil
	}
	if p == nil {
		p = &page{byPop: map[string]int{}}
		for i := range p.shown {
			p.shown[i] = map[string]int{}
		}
		ev.pending[who] = p
	}
	p.req = e.GetRequestId()
	p.explore = e.GetAttrs()[livesim.AttrExposure] == livesim.ExposureExplore
	ev.rankByPop(p)
	ev.refresh()
	req := &tidev1.RoomsRequest{PageSize: feed.MaxPageSize}
	for i, s := range ev.svcs {
		res, err := s.Rooms(ctx, who, req)
		if err != nil {
			return fmt.Errorf("feedeval: %s feed: %w", []string{"served", "served without memory", "previous", "popularity"}[i], err)
		}
		clear(p.shown[i])
		n := 0
		for _, it := range res.GetItems() {
			if it.GetStatus() != tidev1.RoomStatus_ROOM_STATUS_LIVE {
				continue
			}
			p.shown[i][it.GetRoomId()] = n
			n++
		}
		if i == sServed {
			ev.candSum += n
		}
	}
	ev.requests++
	ev.liveSum += p.live
	return nil
}

// close places the entered room in each feed of the page it came from.
func (ev *evaluator) close(e *tidev1.Event, rep *Report) {
	p := ev.pending[e.GetUserId()]
	if p == nil || p.req == "" || p.req != e.GetRequestId() {
		ev.unranked++
		return
	}
	p.req = ""
	room := e.GetRoomId()
	if !ev.wasLive(p, room) {
		ev.unranked++
		return
	}
	_, repeat := ev.visited[e.GetUserId()+"\x00"+e.GetMerchantId()]
	k := ev.o.K
	for i, r := range []*Result{&rep.Served, &rep.NoMemory, &rep.Previous, &rep.PopFeed} {
		rank, ok := p.shown[i][room]
		if !ok {
			rank = -1
		}
		r.addRank(rank, k, repeat, p.explore)
	}
	rank, ok := p.byPop[room]
	if !ok {
		rank = -1
	}
	rep.Pop.addRank(rank, k, repeat, p.explore)
	rep.Random.addRandom(p.live, k, repeat, p.explore)
}

// wasLive reports whether the room was live when the page was asked for.
func (ev *evaluator) wasLive(p *page, room string) bool {
	_, ok := p.byPop[room]
	return ok
}

// rankByPop ranks the rooms live now by their anchor's popularity in the
// CF model's training data (ties by room id).
func (ev *evaluator) rankByPop(p *page) {
	ids := ev.store.LiveRoomIDs()
	p.live = len(ids)
	ev.rooms = ev.store.Rooms(ids, ev.rooms)
	ev.pops = ev.pops[:0]
	for i := range ev.rooms {
		v := float32(0)
		if it, ok := ev.anchors.Item(ev.rooms[i].MerchantID); ok {
			v = ev.anchors.Pop[it]
		}
		ev.pops = append(ev.pops, roomPop{ids[i], v})
	}
	slices.SortStableFunc(ev.pops, func(a, b roomPop) int { return cmp.Compare(b.pop, a.pop) })
	clear(p.byPop)
	for r, x := range ev.pops {
		p.byPop[x.id] = r
	}
}

type roomPop struct {
	id  string
	pop float32
}

// memoryReload is how often the served memory is rebuilt (tide serve's
// TIDE_FEED_MEMORY_RELOAD default).
const memoryReload = 10 * time.Minute

// remember adds e to the long-term memory and rebuilds the served
// snapshot every memoryReload of simulated time.
func (ev *evaluator) remember(e *tidev1.Event) {
	ev.builder.Add(e)
	if ev.svcs[sServed] != nil && ev.now.Sub(ev.memAt) >= memoryReload {
		ev.memAt = ev.now
		ev.mem.p.Store(ev.builder.Memory())
	}
}

// memoryRef is the served memory, swapped on rebuild.
type memoryRef struct{ p atomic.Pointer[memory.Memory] }

func (r *memoryRef) Recall(id string, f *features.UserFeatures) {
	if m := r.p.Load(); m != nil {
		m.Recall(id, f)
	}
}
