// Package livesim simulates the traffic of a live-commerce (直播电商)
// mini-program, deterministically for a seed.
//
// The world: merchants (商家) with products and anchors; one live room per
// anchor, each with a daily schedule (预告 → live → ended) that emits
// STREAM_START and STREAM_END with a live_session_id; and users with latent
// category and anchor preferences. Sessions arrive as a Poisson process,
// heavy users more often (Zipf-like activity). A session browses a feed of
// live rooms (ROOM_IMPRESSION), enters one with a probability that grows with
// the user's affinity for it, stays for a dwell that grows with affinity, and
// meanwhile likes, chats (弹幕), gifts, shares, follows, sees and clicks the
// room's products, adds to cart and orders (ORDER_CREATED, then ORDER_PAID,
// sometimes ORDER_REFUNDED); followed anchors come back in the feed, so users
// return to rooms they like. Some sessions search instead. User ids are tide
// user ids (UserIDPrefix).
//
// The order events are the simulation's own records of what its users
// bought. Where they go is the caller's choice, since in production only
// checkout's outbox produces them (Track refuses them):
//   - `tide demo` with PostgreSQL replays them through CommerceService
//     (cmd/tide/demo_commerce.go: Submit, the paid transition, RequestRefund
//     and DecideRefund), so the topic's order events are checkout's and none
//     of the simulation's reach it;
//   - `tide demo` without PostgreSQL has no checkout and produces them to the
//     topic as the demo platform's server records (demoTraffic.sendPlatform);
//   - evaluations and benches without PostgreSQL (live/fraudeval,
//     serving/feedeval, ranker/live, bench/…) consume them in process or
//     produce them to their own topics as server records, as stand-ins for
//     checkout's events.
//
// Next produces one event at a time in simulated time, fast enough to feed
// benchmarks; Run plays the simulation in real time at a given rate. The
// ground truth (Affinity, LiveRooms, Windows) is exposed for closed-loop
// evaluation of rankers.
package livesim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// UserIDPrefix begins every simulated user id ("u_00042", attackers
// "u_cf3"): the prefix of tide's own user ids (serving/auth), so a
// simulated user's session token, its checkout orders and its Track events
// all name it the same way and join in features, fraud rules and reports.
const UserIDPrefix = "u_"

// Product is one item of the catalog the simulated users see and buy.
type Product struct {
	ID         string
	MerchantID string
	Category   string
	PriceFen   int64
	Title      string
}

// Option configures a Sim.
type Option func(*config)

type config struct {
	seed        int64
	users       int
	merchants   int
	start       time.Time
	products    []Product
	sessionRate float64 // sessions per simulated second; 0: derived from users
	attack      *Attackers
	explore     float64 // share of exploration pages (explore.go)
}

// WithSeed sets the random seed (default 1). The same seed, options and start
// give the same events.
func WithSeed(seed int64) Option { return func(c *config) { c.seed = seed } }

// WithUsers sets the number of users (default 10000).
func WithUsers(n int) Option { return func(c *config) { c.users = max(n, 1) } }

// WithMerchants sets the number of merchants of the generated product
// universe (default 200). It is ignored with WithProducts, whose merchant ids
// define the merchants.
func WithMerchants(n int) Option { return func(c *config) { c.merchants = max(n, 1) } }

// WithStart sets the simulated time of the first event (default: the current
// time, truncated to the millisecond). Pass it for reproducible output.
func WithStart(t time.Time) Option { return func(c *config) { c.start = t } }

// WithProducts replaces the generated product universe by the given catalog.
// Merchants are the distinct MerchantIDs; each gets one to three anchors.
func WithProducts(ps []Product) Option { return func(c *config) { c.products = ps } }

// WithSessionRate sets how many user sessions start per simulated second
// (default: every user starts about six sessions a day).
func WithSessionRate(perSecond float64) Option {
	return func(c *config) { c.sessionRate = perSecond }
}

// Stats counts what a Sim produced so far.
type Stats struct {
	Events      uint64        // events returned by Next
	Sessions    uint64        // user sessions started
	Skipped     uint64        // session arrivals dropped because every picked user was busy
	ActiveUsers int           // users in a session now
	LiveRooms   int           // rooms live now
	SimTime     time.Time     // the simulated clock
	Elapsed     time.Duration // simulated time since the start
}

// Sim is a simulated live-commerce world. It is not safe for concurrent use.
type Sim struct {
	cfg   config
	opts  []Option
	rng   *rand.Rand
	salt  uint64
	start int64 // ms
	now   int64 // ms

	cats      []category
	merchants []merchant
	products  []product
	rooms     []room
	users     []user
	userCum   []float64 // cumulative activity weights
	roomByID  map[string]int32
	userByID  map[string]int32
	prodByID  map[string]int32
	liveAll   fenwick   // live rooms by popularity
	liveByCat []fenwick // live rooms of a category by popularity
	nLive     int
	linkChat  [][]string // [link number][template]

	tasks taskHeap
	seq   uint64
	out   []*tidev1.Event
	head  int

	lambda   float64 // session arrivals per ms
	idPrefix []byte
	idBuf    []byte
	nIDs     uint64
	orders   []order
	freeOrd  []int32

	atk *attacks // scripted attackers and heavy users (WithAttackers), or nil

	nEvents, nSessions, nSkipped uint64
	active                       int
	// completed sessions, for calibrating Run
	doneSessions           uint64
	doneEvents, doneRoomMs float64
}

// New builds a simulated world.
func New(opts ...Option) *Sim {
	cfg := config{seed: 1, users: 10000, merchants: 200}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.start.IsZero() {
		cfg.start = time.Now().Truncate(time.Millisecond)
	}
	s := &Sim{
		cfg:   cfg,
		opts:  append([]Option(nil), opts...),
		rng:   rand.New(rand.NewPCG(uint64(cfg.seed), 0x7469646573696d)),
		salt:  mix(uint64(cfg.seed) ^ 0x5ca1ab1e),
		start: cfg.start.UnixMilli(),
	}
	s.now = s.start
	rate := cfg.sessionRate
	if rate <= 0 {
		rate = float64(cfg.users) * 6 / 86400
	}
	s.lambda = rate / 1000
	s.idPrefix = strconv.AppendUint(nil, uint64(cfg.seed), 36)
	s.idPrefix = append(s.idPrefix, '-')
	s.idPrefix = strconv.AppendInt(s.idPrefix, s.start, 36)
	s.idPrefix = append(s.idPrefix, '-')
	s.idBuf = make([]byte, 0, len(s.idPrefix)+16)
	s.build()
	s.initRooms()
	s.push(s.now+s.expMs(s.lambda), kArrival, 0)
	if cfg.attack != nil {
		s.atk = newAttacks(s, *cfg.attack)
	}
	return s
}

// Next returns the next event in simulated time. Its ts never decreases
// from one call to the next, and every event passes ingest validation
// against its own ts.
func (s *Sim) Next() *tidev1.Event {
	if s.atk != nil {
		return s.atk.next()
	}
	return s.nextWorld()
}

// nextWorld returns the next event of the world's own users and rooms.
func (s *Sim) nextWorld() *tidev1.Event {
	for s.head == len(s.out) {
		s.out = s.out[:0]
		s.head = 0
		s.step()
	}
	e := s.out[s.head]
	s.out[s.head] = nil
	s.head++
	s.nEvents++
	return e
}

// Now is the simulated clock: the ts of the latest event.
func (s *Sim) Now() time.Time { return time.UnixMilli(s.now).UTC() }

// Stats reports what the simulation has produced so far.
func (s *Sim) Stats() Stats {
	return Stats{
		Events: s.nEvents, Sessions: s.nSessions, Skipped: s.nSkipped,
		ActiveUsers: s.active, LiveRooms: s.nLive,
		SimTime: s.Now(), Elapsed: time.Duration(s.now-s.start) * time.Millisecond,
	}
}

// step runs the earliest pending task, which appends zero or more events to out.
func (s *Sim) step() {
	t := s.tasks.pop()
	s.now = t.at
	switch t.kind {
	case kArrival:
		s.arrive()
		s.push(s.now+s.expMs(s.lambda), kArrival, 0)
	case kWarm:
		s.warmViewer()
	case kUser:
		s.userStep(t.idx)
	case kRoomStart:
		s.roomStart(t.idx)
	case kRoomEnd:
		s.roomEnd(t.idx)
	case kPaid:
		s.orderPaid(t.idx)
	case kRefund:
		s.orderRefunded(t.idx)
	}
}

// emit starts an event of type t at the current simulated time.
func (s *Sim) emit(t tidev1.EventType) *tidev1.Event {
	e := &tidev1.Event{EventId: s.newID('e'), Type: t, Ts: s.now}
	s.out = append(s.out, e)
	return e
}

// newID makes a unique id: a letter, the seed, the start and a counter.
func (s *Sim) newID(kind byte) string {
	s.nIDs++
	b := append(s.idBuf[:0], kind)
	b = append(b, s.idPrefix...)
	b = strconv.AppendUint(b, s.nIDs, 36)
	s.idBuf = b
	return string(b)
}

func (s *Sim) push(at int64, kind uint8, idx int32) {
	s.seq++
	s.tasks.push(task{at: at, seq: s.seq, kind: kind, idx: idx})
}

// expMs draws an exponential delay in ms for a rate per ms (at least 1 ms).
func (s *Sim) expMs(ratePerMs float64) int64 {
	return int64(s.rng.ExpFloat64()/ratePerMs) + 1
}

// between draws a uniform delay in [lo, hi) ms.
func (s *Sim) between(lo, hi int64) int64 { return lo + s.rng.Int64N(hi-lo) }

func (s *Sim) chance(p float64) bool { return s.rng.Float64() < p }

const (
	kArrival uint8 = iota
	kWarm
	kUser
	kRoomStart
	kRoomEnd
	kPaid
	kRefund
)

type task struct {
	at   int64
	seq  uint64
	kind uint8
	idx  int32
}

func (a task) before(b task) bool { return a.at < b.at || (a.at == b.at && a.seq < b.seq) }

// taskHeap is a binary min-heap of tasks by (at, seq).
type taskHeap []task

func (h *taskHeap) push(t task) {
	*h = append(*h, t)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q[i].before(q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *taskHeap) pop() task {
	q := *h
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q = q[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q[r].before(q[l]) {
			m = r
		}
		if !q[m].before(q[i]) {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top
}

// mix is a 64-bit finaliser (splitmix64) for hash-derived, order-free randomness.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
