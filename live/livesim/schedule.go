package livesim

import (
	"time"
)

const (
	minuteMs = int64(60_000)
	dayMs    = 24 * 60 * minuteMs
	// shanghai is the offset of Asia/Shanghai (no daylight saving), in ms.
	shanghai = 8 * 60 * minuteMs
)

// schedule is a room's weekly habit; each day's window is derived from it by
// hashing, so the schedule at any time is known without simulating up to it.
type schedule struct {
	startMin int64   // minutes after local midnight
	durMin   int64   // minutes
	onProb   float64 // chance of going live on a given day
}

// newSchedule draws room i's habit: evening prime time, daytime, night owls,
// all-day store broadcasts (店播) and, for every 25th room, an always-on
// stream, so some rooms are live at any hour.
func (s *Sim) newSchedule(i int) schedule {
	if i%25 == 0 { // 24-hour 店播 with a short daily break
		return schedule{startMin: 6 * 60, durMin: 23*60 + 20, onProb: 1}
	}
	switch x := s.rng.Float64(); {
	case x < 0.15: // 店播: 10:00 to about 23:00
		return schedule{startMin: 10 * 60, durMin: 12*60 + s.rng.Int64N(90), onProb: 0.95}
	case x < 0.40: // daytime
		return schedule{startMin: 9*60 + s.rng.Int64N(7*60), durMin: 120 + s.rng.Int64N(120), onProb: 0.75}
	case x < 0.50: // night owls, 22:00 to 01:00 for four to six hours
		return schedule{startMin: 22*60 + s.rng.Int64N(180), durMin: 240 + s.rng.Int64N(120), onProb: 0.7}
	default: // evening prime time
		start := int64(20*60 + s.rng.NormFloat64()*75)
		return schedule{startMin: max(17*60, min(start, 22*60)), durMin: 120 + s.rng.Int64N(180), onProb: 0.8}
	}
}

// day is the Asia/Shanghai calendar day number of a Unix ms time.
func day(ms int64) int64 {
	d := (ms + shanghai) / dayMs
	if (ms+shanghai)%dayMs < 0 {
		d--
	}
	return d
}

// window is room r's live window on Shanghai day d, if it goes live that day.
func (s *Sim) window(r int32, d int64) (start, end int64, ok bool) {
	sc := s.rooms[r].sched
	h := mix(s.salt ^ uint64(r)*0x9e3779b97f4a7c15 ^ uint64(d)*0xc2b2ae3d27d4eb4f)
	if unit(h) >= sc.onProb {
		return 0, 0, false
	}
	jitter, dur := int64(0), sc.durMin
	if sc.onProb < 1 { // always-on rooms keep their hours exactly, so windows never overlap
		h2 := mix(h)
		jitter = int64((unit(h2) - 0.5) * 60)
		dur = int64(float64(sc.durMin) * (0.8 + 0.4*unit(mix(h2))))
	}
	start = d*dayMs - shanghai + (sc.startMin+jitter)*minuteMs
	return start, start + dur*minuteMs, true
}

// liveWindow is the window of room r containing t, if any.
func (s *Sim) liveWindow(r int32, t int64) (start, end int64, ok bool) {
	d := day(t)
	for _, dd := range []int64{d - 1, d} {
		if st, en, ok := s.window(r, dd); ok && st <= t && t < en {
			return st, en, true
		}
	}
	return 0, 0, false
}

// nextWindow is the first window of room r that ends after t.
func (s *Sim) nextWindow(r int32, t int64) (start, end int64) {
	for d := day(t) - 1; ; d++ {
		if st, en, ok := s.window(r, d); ok && en > t {
			return st, en
		}
	}
}

// sessionID names the live session of room r that starts at start.
func (s *Sim) sessionID(r int32, start int64) string {
	return s.rooms[r].id + "-" + time.UnixMilli(start+shanghai).UTC().Format("20060102")
}

// initRooms starts the rooms live at the start (with a STREAM_START at the
// start) and schedules every room's next transition.
func (s *Sim) initRooms() {
	for r := range s.rooms {
		if st, en, ok := s.liveWindow(int32(r), s.now); ok {
			s.goLive(int32(r), st, en)
			continue
		}
		st, _ := s.nextWindow(int32(r), s.now)
		s.push(st, kRoomStart, int32(r))
	}
}

func (s *Sim) roomStart(r int32) {
	st, en, ok := s.liveWindow(r, s.now)
	if !ok { // cannot happen: tasks run at window starts
		st, _ = s.nextWindow(r, s.now+1)
		s.push(st, kRoomStart, r)
		return
	}
	s.goLive(r, st, en)
}

// goLive puts room r live for the window [st, en).
func (s *Sim) goLive(r int32, st, en int64) {
	rm := &s.rooms[r]
	rm.live, rm.session, rm.end = true, s.sessionID(r, st), en
	s.nLive++
	s.liveAll.add(int(r), rm.weight, false)
	s.liveByCat[rm.cat].add(int(r), rm.weight, false)
	// The products on the shelf (小黄车) for this session: the merchant's,
	// mostly of the room's category, at most 30.
	ps := s.merchants[rm.merchant].products
	rm.lineup = rm.lineup[:0]
	for _, i := range s.rng.Perm(len(ps)) {
		if len(rm.lineup) == 30 {
			break
		}
		if s.products[ps[i]].cat == rm.cat || s.chance(0.3) {
			rm.lineup = append(rm.lineup, ps[i])
		}
	}
	e := s.emit(tStreamStart)
	e.RoomId, e.MerchantId, e.LiveSessionId = rm.id, s.merchants[rm.merchant].id, rm.session
	s.push(en, kRoomEnd, r)
}

func (s *Sim) roomEnd(r int32) {
	rm := &s.rooms[r]
	e := s.emit(tStreamEnd)
	e.RoomId, e.MerchantId, e.LiveSessionId = rm.id, s.merchants[rm.merchant].id, rm.session
	rm.live = false
	s.nLive--
	s.liveAll.add(int(r), rm.weight, true)
	s.liveByCat[rm.cat].add(int(r), rm.weight, true)
	st, _ := s.nextWindow(r, s.now+1)
	s.push(st, kRoomStart, r)
}

// Room describes one simulated live room (one anchor's).
type Room struct {
	ID         string
	MerchantID string
	Category   string
	// Popularity is the room's share of feed exposure when live (sums to 1).
	Popularity float64
}

// Window is one scheduled live session of a room: announced ahead (预告),
// live in [Start, End).
type Window struct {
	RoomID        string
	LiveSessionID string
	Start, End    time.Time
}

// Rooms lists every room of the world.
func (s *Sim) Rooms() []Room {
	var total float64
	for _, r := range s.rooms {
		total += float64(r.weight)
	}
	out := make([]Room, len(s.rooms))
	for i, r := range s.rooms {
		out[i] = Room{ID: r.id, MerchantID: s.merchants[r.merchant].id, Category: s.cats[r.cat].name,
			Popularity: float64(r.weight) / total}
	}
	return out
}

// LiveRooms lists the rooms scheduled live at t, which for any t the
// simulation has reached are exactly the rooms between their STREAM_START and
// STREAM_END (rooms live at the start get their STREAM_START at the start).
func (s *Sim) LiveRooms(t time.Time) []string {
	ms := t.UnixMilli()
	var out []string
	for r := range s.rooms {
		if _, _, ok := s.liveWindow(int32(r), ms); ok {
			out = append(out, s.rooms[r].id)
		}
	}
	return out
}

// Windows lists the live sessions of a room that overlap [from, to), in
// order: the schedule (预告) a feed can show as upcoming.
func (s *Sim) Windows(roomID string, from, to time.Time) []Window {
	r, ok := s.roomByID[roomID]
	if !ok {
		return nil
	}
	var out []Window
	for d := day(from.UnixMilli()) - 1; d <= day(to.UnixMilli()); d++ {
		st, en, ok := s.window(r, d)
		if !ok || en <= from.UnixMilli() || st >= to.UnixMilli() {
			continue
		}
		out = append(out, Window{RoomID: roomID, LiveSessionID: s.sessionID(r, st),
			Start: time.UnixMilli(st).UTC(), End: time.UnixMilli(en).UTC()})
	}
	return out
}

// Affinity is the ground truth of how much a user likes a room, in (0, 1):
// it drives entering, dwell, engagement and buying. Unknown ids give 0.
func (s *Sim) Affinity(userID, roomID string) float64 {
	u, ok1 := s.userByID[userID]
	r, ok2 := s.roomByID[roomID]
	if !ok1 || !ok2 {
		return 0
	}
	return s.affinity(&s.users[u], r)
}

// CategoryPreference is the ground truth of how much a user likes a product
// category (the preferences of a user sum to 1). Unknown names give 0.
func (s *Sim) CategoryPreference(userID, category string) float64 {
	u, ok := s.userByID[userID]
	if !ok {
		return 0
	}
	for c := range s.cats {
		if s.cats[c].name == category {
			return s.users[u].catPref(int32(c))
		}
	}
	return 0
}

// Products lists the catalog the simulation sells from (generated or given).
func (s *Sim) Products() []Product {
	out := make([]Product, len(s.products))
	for i, p := range s.products {
		out[i] = Product{ID: p.id, MerchantID: s.merchants[p.merchant].id, Category: p.catName, PriceFen: p.price, Title: p.title}
	}
	return out
}

// Users lists the user ids.
func (s *Sim) Users() []string {
	out := make([]string, len(s.users))
	for i := range s.users {
		out[i] = s.users[i].id
	}
	return out
}

// Lineup lists the products on a room's shelf (小黄车) for its current or
// last session, in shelf order; nil for an unknown room or one not yet live.
func (s *Sim) Lineup(roomID string) []string {
	r, ok := s.roomByID[roomID]
	if !ok {
		return nil
	}
	rm := &s.rooms[r]
	out := make([]string, len(rm.lineup))
	for i, p := range rm.lineup {
		out[i] = s.products[p].id
	}
	return out
}
