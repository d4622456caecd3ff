// Package live evaluates room ranking on simulated live traffic, where
// availability matters: a room can only be recommended while it streams.
//
// Protocol (Run). live/livesim generates a seeded world and Days days of
// events, played once in time order. Interactions (features/offline's
// weights, anchors = the room's merchant_id) accumulate from the start.
//
//   - Days 1…D−2: history. At the end of day D−2 the CF model of users ×
//     anchors is trained on it ("early" model).
//   - Day D−1: every ROOM_IMPRESSION becomes a CTR sample (train.Sampler:
//     online features as serving would see them, the early CF score,
//     labelled by a ROOM_ENTER within 2 min). At its end the CTR model is
//     fitted (its held-out AUC is on the last 20 % of the day) and the CF
//     model is retrained on days 1…D−1.
//   - Day D: evaluation. At the first impression of every feed request the
//     rooms live at that moment — as the STREAM_START/END events applied so
//     far tell it, what the system would know — are scored for the viewer;
//     when the viewer then enters a room from that request, its rank among
//     them gives HR@K and NDCG@K. Targets split into new (the viewer never
//     entered a room of that anchor before) and repeat. Day D's impressions
//     also measure the CTR model's AUC out of time.
//
// Scorers: popularity among the live rooms (the anchors' interaction
// counts of the training days), the CF model (ranker.Model.ScoreInto on the
// viewer's recent anchors), the CTR model fitted without its CF features
// (an ablation), and the CF+CTR blend: the CTR model's log-odds plus
// Beta × log(popularity), Beta tuned on day D−1's enters (never on day D).
package live

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/features/offline"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
	rankoff "github.com/tide-live/tide/ranker/offline"
	"github.com/tide-live/tide/ranker/train"
)

// Options configure Run.
type Options struct {
	Seed      int64
	Users     int       // simulated users (default 5000)
	Merchants int       // simulated merchants (default 200)
	Days      int       // simulated days, at least 3 (default 4)
	Start     time.Time // simulated start (default 2025-06-02 00:00 Asia/Shanghai)
	K         int       // cut-off (default 10)
	// Ranker trains the anchors CF model (default train.AnchorsConfig()).
	Ranker *ranker.Config
	CTR    ctr.Config // default ctr.DefaultConfig()
	// Progress, if set, is called with the simulated day being played and
	// named training stages.
	Progress func(stage string, done, total int)
}

// Group is one scorer's figures on one group of targets.
type Group = rankoff.Metrics

// Result is one scorer's figures.
type Result struct {
	Name              string
	All, New, Repeat  Group
	hitAll, hitNew    [2]float64
	hitRep            [2]float64
	nAll, nNew, nRept int
}

func (r *Result) add(rank, k int, repeat bool) {
	h, n := rankoff.Gain(rank, k)
	r.hitAll[0] += h
	r.hitAll[1] += n
	r.nAll++
	if repeat {
		r.hitRep[0] += h
		r.hitRep[1] += n
		r.nRept++
	} else {
		r.hitNew[0] += h
		r.hitNew[1] += n
		r.nNew++
	}
}

func (r *Result) finish() {
	m := func(s [2]float64, n int) Group {
		if n == 0 {
			return Group{}
		}
		return Group{HR: s[0] / float64(n), NDCG: s[1] / float64(n), Users: n}
	}
	r.All, r.New, r.Repeat = m(r.hitAll, r.nAll), m(r.hitNew, r.nNew), m(r.hitRep, r.nRept)
}

// Report is what Run measured.
type Report struct {
	Events       int64   // events played
	Enters       int     // day-D enters evaluated
	Unranked     int     // day-D enters whose room was not live at the request, or without a request
	MeanLive     float64 // live rooms per evaluated request
	AnchorsUsers int     // users in the final CF training data
	CTRSamples   int     // day D−1 impressions the CTR model was fitted on
	// CTR is the fitted model; CTRAUC its AUC on day D's impressions.
	// CTRNoCF is the same fitted without the CF features (an ablation).
	CTR, CTRNoCF *ctr.Model
	CTRAUC       float64
	Beta         float64 // the blend's popularity weight, tuned on day D−1
	// Scorers: popularity among live rooms, live heat (viewers now), CF,
	// the CTR model without CF features, and the CF+CTR blend.
	Pop, Heat, CF, CTROnly, Blend Result
	Elapsed                       time.Duration
}

// scorer indices in a request's score table
const (
	sPop = iota
	sHeat
	sCF
	sCTR
	sNoCF
	nScorers
)

// request is one viewer's pending feed request of the evaluated day.
type request struct {
	req    string
	rooms  []string
	scores [nScorers][]float64
}

// betas are the blend weights tried on day D−1.
var betas = []float64{0, 0.25, 0.5, 1, 1.5, 2, 3}

// Run plays the simulation and evaluates (see the package comment).
func Run(ctx context.Context, o Options) (*Report, error) {
	began := time.Now()
	if o.Users <= 0 {
		o.Users = 5000
	}
	if o.Merchants <= 0 {
		o.Merchants = 200
	}
	if o.Days == 0 {
		o.Days = 4
	}
	if o.Days < 3 {
		return nil, fmt.Errorf("live: %d days; need at least 3 (history, CTR, evaluation)", o.Days)
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2025, 6, 1, 16, 0, 0, 0, time.UTC) // 00:00 in Shanghai
	}
	if o.K <= 0 {
		o.K = 10
	}
	rcfg := train.AnchorsConfig()
	if o.Ranker != nil {
		rcfg = *o.Ranker
	}
	if o.CTR == (ctr.Config{}) {
		o.CTR = ctr.DefaultConfig()
	}
	progress := func(stage string, d, t int) {
		if o.Progress != nil {
			o.Progress(stage, d, t)
		}
	}
	sim := livesim.New(livesim.WithSeed(o.Seed), livesim.WithUsers(o.Users), livesim.WithMerchants(o.Merchants), livesim.WithStart(o.Start))
	cat := catalog{}
	for _, p := range sim.Products() {
		cat[p.ID] = p.Category
	}
	day := 24 * time.Hour
	t1 := o.Start.Add(time.Duration(o.Days-2) * day)
	t2 := t1.Add(day)
	t3 := t2.Add(day)
	store := features.NewStore(features.WithCatalog(cat), features.WithUserTTL(time.Duration(o.Days)*day))
	acc := train.NewAccumulator(offline.DefaultWeights())
	scfg := train.DefaultSamplerConfig()
	scfg.Products = false
	smp := train.NewSampler(store, nil, nil, t1, scfg)
	ev := &evaluator{k: o.K, smp: smp, store: store, visited: map[string]struct{}{}, pending: map[string]*request{}}
	rep := &Report{Pop: Result{Name: "popularity-live"}, Heat: Result{Name: "heat-live"}, CF: Result{Name: "cf"},
		CTROnly: Result{Name: "ctr-without-cf"}, Blend: Result{Name: "cf+ctr"}}
	// validation ranks of day D−1 for tuning the blend: the sampled
	// feature vectors of each request's live rooms, scored once the CTR
	// model exists
	var val []valCase
	phase := 0
	lastDay := -1
	for {
		e := sim.Next()
		t := time.UnixMilli(e.GetTs())
		if !t.Before(t3) {
			break
		}
		if d := int(t.Sub(o.Start) / day); d != lastDay {
			lastDay = d
			progress("simulated day", d, o.Days)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if phase == 0 && !t.Before(t1) {
			phase = 1
			m, err := ranker.Train(ctx, acc.Interactions(offline.Anchors, t1), rcfg, ranker.WithVersion("early"))
			if err != nil {
				return nil, fmt.Errorf("live: early CF model: %w", err)
			}
			progress("early CF model", 1, 1)
			smp.SetModels(m, nil)
			ev.anchors = m
		}
		if phase == 1 && !t.Before(t2) {
			phase = 2
			x := acc.Interactions(offline.Anchors, t2)
			m, err := ranker.Train(ctx, x, rcfg, ranker.WithVersion("final"))
			if err != nil {
				return nil, fmt.Errorf("live: CF model: %w", err)
			}
			rep.AnchorsUsers = x.Users.Len()
			samples, _ := smp.TakeSamples()
			rep.CTRSamples = samples.Len()
			cm, err := ctr.Train(ctx, ctr.Rooms, samples, o.CTR)
			if err != nil {
				return nil, fmt.Errorf("live: CTR model: %w", err)
			}
			nocf, err := ctr.Train(ctx, ctr.Rooms, withoutCF(samples), o.CTR)
			if err != nil {
				return nil, fmt.Errorf("live: CTR model without CF: %w", err)
			}
			progress("CF and CTR models", 1, 1)
			rep.CTR, rep.CTRNoCF = cm, nocf
			rep.Beta = tune(val, cm, o.K)
			val = nil
			smp.SetModels(m, nil)
			ev.anchors, ev.ctr, ev.nocf = m, cm, nocf
		}
		if e.GetType() == tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION && e.GetUserId() != "" {
			switch phase {
			case 1:
				if c, ok := ev.validation(e); ok {
					val = append(val, c)
				}
			case 2:
				ev.open(e)
			}
		}
		if e.GetType() == tidev1.EventType_EVENT_TYPE_ROOM_ENTER {
			repeat := ev.visit(e)
			if phase == 2 {
				ev.close(e, repeat, rep)
			} else if phase == 1 {
				for i := len(val) - 1; i >= 0 && i >= len(val)-50; i-- {
					if val[i].user == e.GetUserId() && val[i].req == e.GetRequestId() && val[i].target < 0 {
						val[i].target = slices.Index(val[i].rooms, e.GetRoomId())
						break
					}
				}
			}
		}
		acc.Add(e)
		smp.Apply(e)
		rep.Events++
	}
	if phase < 2 {
		return nil, fmt.Errorf("live: the simulation ended before the evaluation day")
	}
	progress("simulated day", o.Days, o.Days)
	rep.CTRAUC, _ = rep.CTR.Evaluate(smp.Rooms)
	for _, r := range []*Result{&rep.Pop, &rep.Heat, &rep.CF, &rep.CTROnly, &rep.Blend} {
		r.finish()
	}
	rep.Enters = rep.Pop.All.Users
	rep.Unranked = ev.unranked
	if ev.requests > 0 {
		rep.MeanLive = float64(ev.liveSum) / float64(ev.requests)
	}
	rep.Elapsed = time.Since(began)
	return rep, nil
}

// noCF blanks the CF features of x.
func noCF(x *ctr.Features) { x[ctr.CF], x[ctr.CFKnown], x[ctr.CFNew] = 0, 0, 0 }

// withoutCF copies s with the CF features blanked.
func withoutCF(s ctr.Samples) ctr.Samples {
	c := ctr.Samples{X: slices.Clone(s.X), Y: s.Y, T: s.T}
	for i := range c.X {
		noCF(&c.X[i])
	}
	return c
}

// catalog gives the features store the simulated products' categories.
type catalog map[string]string

func (c catalog) Category(id string) string { return c[id] }

// evaluator ranks the live rooms at each request and scores the enters.
type evaluator struct {
	k       int
	smp     *train.Sampler
	store   *features.Store
	anchors *ranker.Model
	ctr     *ctr.Model
	nocf    *ctr.Model
	visited map[string]struct{} // user \x00 anchor
	pending map[string]*request // by user
	free    []*request

	unranked          int
	requests, liveSum int

	uf    features.UserFeatures
	hist  ranker.History
	items []ranker.ItemID
	raw   []float64
	rf    []features.RoomFeatures
	xs    []ctr.Features
}

// visit records an enter and reports whether the viewer had entered a
// room of this anchor before.
func (ev *evaluator) visit(e *tidev1.Event) bool {
	key := e.GetUserId() + "\x00" + e.GetMerchantId()
	_, seen := ev.visited[key]
	if !seen {
		ev.visited[key] = struct{}{}
	}
	return seen
}

// score fills the score table of the live rooms for the viewer of e; xs
// receives the rooms' CTR features.
func (ev *evaluator) score(e *tidev1.Event, rq *request, xs []ctr.Features) []ctr.Features {
	who, t := e.GetUserId(), e.GetTs()
	rq.rooms = ev.store.LiveRoomIDs()
	n := len(rq.rooms)
	ev.rf = ev.store.Rooms(rq.rooms, ev.rf)
	ev.store.UserInto(who, &ev.uf)
	ev.hist = ctr.History(ev.anchors, ev.uf.Anchors, 50, ev.hist)
	ev.items = ev.items[:0]
	for i := range ev.rf {
		it, ok := ev.anchors.Item(ev.rf[i].MerchantID)
		if !ok {
			it = -1
		}
		ev.items = append(ev.items, it)
	}
	for s := range rq.scores {
		rq.scores[s] = slices.Grow(rq.scores[s][:0], n)[:n]
	}
	ev.raw = slices.Grow(ev.raw[:0], n)[:n]
	ev.anchors.ScoreInto(ev.hist, ev.items, ev.raw)
	xs = slices.Grow(xs[:0], n)[:n]
	for i, id := range rq.rooms {
		pop := 0.0
		if it := ev.items[i]; it >= 0 {
			pop = float64(ev.anchors.Pop[it])
		}
		rq.scores[sPop][i] = pop
		rq.scores[sHeat][i] = float64(ev.rf[i].ViewersNow)
		rq.scores[sCF][i] = ev.raw[i]
		if ev.items[i] < 0 {
			rq.scores[sCF][i] = math.Inf(-1)
		}
		ev.smp.BuildRoom(&xs[i], who, e.GetRequestId(), t, id)
	}
	return xs
}

// open scores the live rooms at the first impression of a request of the
// evaluated day.
func (ev *evaluator) open(e *tidev1.Event) {
	who := e.GetUserId()
	rq := ev.pending[who]
	if rq != nil && rq.req == e.GetRequestId() {
		return
	}
	if rq == nil {
		rq = &request{}
		ev.pending[who] = rq
	}
	rq.req = e.GetRequestId()
	ev.xs = ev.score(e, rq, ev.xs)
	for i := range ev.xs {
		rq.scores[sCTR][i] = ev.ctr.Logit(&ev.xs[i])
		noCF(&ev.xs[i])
		rq.scores[sNoCF][i] = ev.nocf.Logit(&ev.xs[i])
	}
	ev.requests++
	ev.liveSum += len(rq.rooms)
}

// close ranks the entered room among the request's live rooms.
func (ev *evaluator) close(e *tidev1.Event, repeat bool, rep *Report) {
	rq := ev.pending[e.GetUserId()]
	if rq == nil || rq.req != e.GetRequestId() || rq.req == "" {
		ev.unranked++
		return
	}
	target := slices.Index(rq.rooms, e.GetRoomId())
	rq.req = ""
	if target < 0 {
		ev.unranked++
		return
	}
	rep.Pop.add(rankOf(rq.scores[sPop], target), ev.k, repeat)
	rep.Heat.add(rankOf(rq.scores[sHeat], target), ev.k, repeat)
	rep.CF.add(rankOf(rq.scores[sCF], target), ev.k, repeat)
	rep.CTROnly.add(rankOf(rq.scores[sNoCF], target), ev.k, repeat)
	blend := rq.scores[sHeat] // reuse: heat is ranked already
	for i := range blend {
		blend[i] = blendScore(rq.scores[sCTR][i], rq.scores[sPop][i], rep.Beta)
	}
	rep.Blend.add(rankOf(blend, target), ev.k, repeat)
}

func blendScore(logit, pop, beta float64) float64 {
	return logit + beta*math.Log(pop+0.01)
}

// rankOf is the 0-based rank of target: the items scoring higher, plus
// half of those tied with it.
func rankOf(scores []float64, target int) int {
	st := scores[target]
	above, tied := 0, 0
	for i, s := range scores {
		switch {
		case i == target:
		case s > st:
			above++
		case s == st:
			tied++
		}
	}
	return above + tied/2
}

// valCase is a day D−1 request kept for tuning the blend.
type valCase struct {
	user, req string
	rooms     []string
	pop       []float64
	xs        []ctr.Features
	target    int
}

// validation records the live rooms of a day D−1 request (one in four, to
// bound memory) for tuning the blend.
func (ev *evaluator) validation(e *tidev1.Event) (valCase, bool) {
	who := e.GetUserId()
	rq := ev.pending[who]
	if rq != nil && rq.req == e.GetRequestId() {
		return valCase{}, false
	}
	if rq == nil {
		rq = &request{}
		ev.pending[who] = rq
	}
	rq.req = e.GetRequestId()
	if h := len(rq.req); h == 0 || rq.req[h-1]%4 != 0 {
		return valCase{}, false
	}
	xs := ev.score(e, rq, nil)
	return valCase{user: who, req: rq.req, rooms: slices.Clone(rq.rooms), pop: slices.Clone(rq.scores[sPop]), xs: xs, target: -1}, true
}

// tune picks the blend's popularity weight with the best HR@k (ties: NDCG)
// on the validation requests that led to an enter.
func tune(val []valCase, m *ctr.Model, k int) float64 {
	best, bestHR, bestNDCG := 0.0, -1.0, -1.0
	var s []float64
	for _, b := range betas {
		hr, nd := 0.0, 0.0
		for _, c := range val {
			if c.target < 0 {
				continue
			}
			s = slices.Grow(s[:0], len(c.xs))[:len(c.xs)]
			for i := range c.xs {
				s[i] = blendScore(m.Logit(&c.xs[i]), c.pop[i], b)
			}
			h, n := rankoff.Gain(rankOf(s, c.target), k)
			hr += h
			nd += n
		}
		if hr > bestHR || (hr == bestHR && nd > bestNDCG) {
			best, bestHR, bestNDCG = b, hr, nd
		}
	}
	return best
}
