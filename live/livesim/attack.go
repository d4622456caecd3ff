package livesim

import (
	"math/rand/v2"
	"strconv"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Role is the ground truth of what a simulated account is, for evaluating
// anti-fraud rules.
type Role uint8

// Roles of simulated accounts. The world's own users are RoleNormal; the
// others exist only with WithAttackers.
const (
	RoleNormal     Role = iota
	RoleClickFarm       // many accounts on few devices clicking products (attacker)
	RoleViewBot         // enters rooms and does nothing: sitters and lockstep hoppers (attacker)
	RoleBrushRing       // 刷单: fresh accounts ordering fast from one IP, some refunding (attacker)
	RoleBigSpender      // legitimate: many orders, old account
	RoleFan             // legitimate: enters its anchors' rooms very often, rushes in at the start
)

// String names the role.
func (r Role) String() string {
	return [...]string{"normal", "click_farm", "view_bot", "brush_ring", "big_spender", "fan"}[r]
}

// Attacker reports whether the role is an attacker's account.
func (r Role) Attacker() bool { return r == RoleClickFarm || r == RoleViewBot || r == RoleBrushRing }

// Heavy reports whether the role is a legitimate heavy user, which
// anti-fraud must not flag.
func (r Role) Heavy() bool { return r == RoleBigSpender || r == RoleFan }

// Attackers sizes the attackers and heavy users WithAttackers adds. Zero
// fields take the defaults of DefaultAttackers.
type Attackers struct {
	ClickFarms, FarmDevices, FarmAccountsPerDevice int // farms × devices × accounts (the first device of the first farm keeps to 4)
	Sitters                                        int // view bots that sit idle in rooms (one in ten sometimes likes, to evade)
	HopperGroups, HopperGroupSize                  int // lockstep view-bot groups
	Rings, RingAccounts                            int // 刷单 rings × accounts
	BigSpenders, Fans                              int // legitimate heavy users
}

// DefaultAttackers returns the sizes used by `tide eval fraud`.
func DefaultAttackers() Attackers {
	return Attackers{ClickFarms: 4, FarmDevices: 3, FarmAccountsPerDevice: 8, Sitters: 60,
		HopperGroups: 4, HopperGroupSize: 12, Rings: 5, RingAccounts: 10, BigSpenders: 40, Fans: 80}
}

// WithAttackers adds attackers (click farms, view bots, 刷单 rings) and
// legitimate heavy users (big spenders, fans) to the world, and stamps the
// server-side attributes anti-fraud reads on order events (attrs "ip" and
// "acct_created"). Off by default. The world's own users behave exactly as
// without it; Role tells who is who.
func WithAttackers(a Attackers) Option { return func(c *config) { c.attack = &a } }

// actor is one scripted account.
type actor struct {
	id, device, ip string
	created        int64 // account creation, Unix ms
	role           Role
	group          int32 // farm, hopper group or ring; for fans the favourite room
}

// attacks produces the scripted actors' events, merged with the world's by ts.
type attacks struct {
	s      *Sim
	cfg    Attackers
	rng    *rand.Rand
	actors []actor
	byID   map[string]int32
	groups [][]int32 // members of each farm / hopper group / ring, by kind
	jobs   taskHeap
	events eventHeap
	peek   *tidev1.Event // the world's next event, read ahead
	nIDs   uint64
	seq    uint64
	// for the world's own users
	nat int
}

func newAttacks(s *Sim, a Attackers) *attacks {
	d := DefaultAttackers()
	fill := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	fill(&a.ClickFarms, d.ClickFarms)
	fill(&a.FarmDevices, d.FarmDevices)
	fill(&a.FarmAccountsPerDevice, d.FarmAccountsPerDevice)
	fill(&a.Sitters, d.Sitters)
	fill(&a.HopperGroups, d.HopperGroups)
	fill(&a.HopperGroupSize, d.HopperGroupSize)
	fill(&a.Rings, d.Rings)
	fill(&a.RingAccounts, d.RingAccounts)
	fill(&a.BigSpenders, d.BigSpenders)
	fill(&a.Fans, d.Fans)
	k := &attacks{s: s, cfg: a, rng: rand.New(rand.NewPCG(uint64(s.cfg.seed), 0xa77ac4)),
		byID: map[string]int32{}, nat: max(len(s.users)*4/5, 1)}
	k.cast()
	return k
}

// add creates an actor and returns its index.
func (k *attacks) add(role Role, prefix string, n int, device, ip string, created int64, group int32) int32 {
	id := UserIDPrefix + prefix + strconv.Itoa(n)
	if device == "" {
		device = "dev-" + id
	}
	if ip == "" {
		ip = "ip-" + id
	}
	k.actors = append(k.actors, actor{id: id, device: device, ip: ip, created: created, role: role, group: group})
	i := int32(len(k.actors) - 1)
	k.byID[id] = i
	return i
}

// oldAccount draws a creation time months before the start.
func (k *attacks) oldAccount() int64 {
	return k.s.start - (30+k.rng.Int64N(900))*dayMs
}

// Role is the ground truth of an account's role (RoleNormal for the world's
// own users and unknown ids).
func (s *Sim) Role(userID string) Role {
	if s.atk == nil {
		return RoleNormal
	}
	if i, ok := s.atk.byID[userID]; ok {
		return s.atk.actors[i].role
	}
	return RoleNormal
}

// Actors lists the accounts WithAttackers added, with their roles.
func (s *Sim) Actors() map[string]Role {
	out := map[string]Role{}
	if s.atk != nil {
		for _, a := range s.atk.actors {
			out[a.id] = a.role
		}
	}
	return out
}

// next returns the earlier of the world's next event and the actors'.
func (k *attacks) next() *tidev1.Event {
	if k.peek == nil {
		k.peek = k.s.nextWorld()
		k.stamp(k.peek)
	}
	for len(k.jobs) > 0 && k.jobs[0].at <= k.peek.Ts && (len(k.events) == 0 || k.jobs[0].at <= k.events[0].e.Ts) {
		k.run(k.jobs.pop())
	}
	if len(k.events) > 0 && k.events[0].e.Ts < k.peek.Ts {
		k.s.nEvents++
		return k.events.pop()
	}
	e := k.peek
	k.peek = nil
	return e
}

// stamp gives the world's own order events the attributes the server
// stamps: the buyer's IP (a fifth of users share one behind a NAT) and the
// account's creation time (one in fifty accounts was created today).
func (k *attacks) stamp(e *tidev1.Event) {
	switch e.Type {
	case tOrderCreated, tOrderPaid, tOrderRefunded:
	default:
		return
	}
	i, ok := k.s.userByID[e.UserId]
	if !ok {
		return
	}
	h := mix(k.s.salt ^ 0x1b ^ uint64(i))
	if e.Attrs == nil {
		e.Attrs = map[string]string{}
	}
	e.Attrs["ip"] = "nat-" + strconv.FormatUint(h%uint64(k.nat), 36)
	created := k.s.start - int64(30+h%900)*dayMs
	if h>>20%50 == 0 {
		created = k.s.start - int64(h>>32%uint64(12*60))*minuteMs
	}
	e.Attrs["acct_created"] = strconv.FormatInt(created, 10)
}

// event starts an actor's event at ts.
func (k *attacks) event(t tidev1.EventType, a *actor, ts int64) *tidev1.Event {
	k.nIDs++
	e := &tidev1.Event{EventId: "x" + string(k.s.idPrefix) + strconv.FormatUint(k.nIDs, 36), Type: t, Ts: ts,
		UserId: a.id, DeviceId: a.device}
	k.seq++
	k.events.push(timedEvent{e: e, seq: k.seq})
	return e
}

// timedEvent is a scheduled actor event.
type timedEvent struct {
	e   *tidev1.Event
	seq uint64
}

func (a timedEvent) before(b timedEvent) bool {
	return a.e.Ts < b.e.Ts || (a.e.Ts == b.e.Ts && a.seq < b.seq)
}

// eventHeap is a binary min-heap of events by (ts, seq).
type eventHeap []timedEvent

func (h *eventHeap) push(t timedEvent) {
	*h = append(*h, t)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q[i].before(q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *eventHeap) pop() *tidev1.Event {
	q := *h
	top := q[0].e
	n := len(q) - 1
	q[0] = q[n]
	q[n] = timedEvent{}
	q = q[:n]
	for i := 0; ; {
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
