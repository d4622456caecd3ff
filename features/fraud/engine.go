package fraud

import (
	"strings"
	"sync"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Option configures an Engine.
type Option func(*Engine)

// WithThresholds replaces the default thresholds.
func WithThresholds(t Thresholds) Option { return func(e *Engine) { e.th = t } }

// WithSink receives every new flag, synchronously on the goroutine that
// feeds the engine: it must be quick (a buffered channel, or
// fraudch.Writer.Add). A subject is flagged once per rule.
func WithSink(f func(Flag)) Option { return func(e *Engine) { e.sink = f } }

// WithCaps bounds the entries of each map of state (users, devices, IP ×
// room pairs, orders, rooms); default 1<<20 each.
func WithCaps(n int) Option { return func(e *Engine) { e.maxEntries = max(n, 16) } }

// Stats counts what an engine did.
type Stats struct {
	Events  int64 // events observed
	Flags   int64 // flags raised
	Dropped int64 // new keys not tracked because a map was full
	Users   int   // users tracked now
	Devices int   // devices tracked now
}

// Engine evaluates the rules over a stream of events. Observe and Keep must
// be called from one goroutine at a time (they take a mutex, so a second
// caller is safe but waits); Flagged, IsFlagged and RulesOf are safe from any
// goroutine.
type Engine struct {
	th         Thresholds
	sink       func(Flag)
	maxEntries int

	mu        sync.Mutex // guards the state below
	users     map[string]*userState
	devices   map[string]*deviceState
	ipRooms   map[ipRoom]*ipRoomState
	orders    map[string]*orderState
	rooms     map[string]*roomState
	nextSweep int64
	stats     Stats

	fmu     sync.RWMutex // guards flagged
	flagged map[subject]uint8
}

// New returns an engine with no state.
func New(opts ...Option) *Engine {
	e := &Engine{
		th:         DefaultThresholds(),
		maxEntries: 1 << 20,
		users:      map[string]*userState{},
		devices:    map[string]*deviceState{},
		ipRooms:    map[ipRoom]*ipRoomState{},
		orders:     map[string]*orderState{},
		rooms:      map[string]*roomState{},
		flagged:    map[subject]uint8{},
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// eventTime is the time an event counts at: received_at (the server's
// clock), else the client's ts.
func eventTime(ev *tidev1.Event) int64 {
	if t := ev.GetReceivedAt(); t > 0 {
		return t
	}
	return ev.GetTs()
}

// Observe runs the rules over one event. It does not keep ev.
func (e *Engine) Observe(ev *tidev1.Event) {
	e.mu.Lock()
	e.observe(ev)
	e.mu.Unlock()
}

// Keep observes ev and reports whether its traffic should count: false when
// its user or device is flagged (including by ev itself). It is the filter
// the online features apply (features.WithFilter(engine.Keep)).
func (e *Engine) Keep(ev *tidev1.Event) bool {
	e.Observe(ev)
	return !e.Flagged(ev)
}

// Flagged reports whether ev's user or device is flagged by any rule.
func (e *Engine) Flagged(ev *tidev1.Event) bool {
	u, d := ev.GetUserId(), ev.GetDeviceId()
	if u == "" && d == "" {
		return false
	}
	e.fmu.RLock()
	defer e.fmu.RUnlock()
	if len(e.flagged) == 0 {
		return false
	}
	return (u != "" && e.flagged[subject{KindUser, u}] != 0) || (d != "" && e.flagged[subject{KindDevice, d}] != 0)
}

// IsFlagged reports whether the subject is flagged by any rule.
func (e *Engine) IsFlagged(k Kind, id string) bool {
	e.fmu.RLock()
	defer e.fmu.RUnlock()
	return e.flagged[subject{k, id}] != 0
}

// RulesOf returns the rules that flagged the subject.
func (e *Engine) RulesOf(k Kind, id string) []Rule {
	e.fmu.RLock()
	m := e.flagged[subject{k, id}]
	e.fmu.RUnlock()
	var out []Rule
	for _, r := range Rules {
		if m&(1<<r) != 0 {
			out = append(out, r)
		}
	}
	return out
}

// Restore marks a subject as flagged by rule r without raising a flag (no
// sink call): a restarted engine restores what fraud_flags holds, so the
// traffic of subjects flagged before the restart stays excluded.
func (e *Engine) Restore(k Kind, id string, r Rule) {
	key := subject{k, strings.Clone(id)}
	e.fmu.Lock()
	e.flagged[key] |= 1 << r
	e.fmu.Unlock()
}

// Stats reports the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Users, s.Devices = len(e.users), len(e.devices)
	return s
}

func (e *Engine) observe(ev *tidev1.Event) {
	t := eventTime(ev)
	if t <= 0 {
		return
	}
	e.stats.Events++
	if t >= e.nextSweep {
		e.sweep(t)
		e.nextSweep = t + time.Minute.Milliseconds()
	}
	uid := ev.GetUserId()
	if d := ev.GetDeviceId(); d != "" && uid != "" {
		e.device(d, uid, t, ev.GetRoomId())
	}
	if uid == "" {
		return
	}
	switch ev.GetType() {
	case tidev1.EventType_EVENT_TYPE_ROOM_ENTER:
		e.enter(ev, uid, t)
	case tidev1.EventType_EVENT_TYPE_ROOM_LEAVE:
		e.leave(ev, uid, t)
	case tidev1.EventType_EVENT_TYPE_ORDER_CREATED:
		e.activity(ev, uid, t)
		e.orderCreated(ev, uid, t)
	case tidev1.EventType_EVENT_TYPE_ORDER_PAID:
		e.orderPaid(ev, uid, t)
	case tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED:
		e.orderRefunded(ev, uid, t)
	case tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, tidev1.EventType_EVENT_TYPE_SEARCH,
		tidev1.EventType_EVENT_TYPE_SEARCH_CLICK, tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE:
		// not activity inside a room
	default:
		e.activity(ev, uid, t)
	}
}

// raise records a flag and hands it to the sink, once per subject and rule.
func (e *Engine) raise(k Kind, id string, r Rule, measure int64, room string, t int64, reason func() string) {
	key := subject{k, id}
	e.fmu.RLock()
	had := e.flagged[key]
	e.fmu.RUnlock()
	if had&(1<<r) != 0 {
		return
	}
	key.id = strings.Clone(id)
	e.fmu.Lock()
	e.flagged[key] = had | 1<<r
	e.fmu.Unlock()
	e.stats.Flags++
	if e.sink != nil {
		e.sink(Flag{Kind: k, ID: key.id, Rule: r, Reason: reason(), Measure: measure,
			RoomID: strings.Clone(room), At: time.UnixMilli(t).UTC()})
	}
}

// full reports whether a map of n entries may not grow, counting the drop.
func (e *Engine) full(n int) bool {
	if n < e.maxEntries {
		return false
	}
	e.stats.Dropped++
	return true
}
