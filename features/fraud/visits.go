package fraud

import (
	"fmt"
	"strings"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// timeMs turns ms into a duration rounded to the second.
func timeMs(ms int64) time.Duration {
	return (time.Duration(ms) * time.Millisecond).Round(time.Second)
}

// enter opens a visit (R3's first entry, R5, R6).
func (e *Engine) enter(ev *tidev1.Event, uid string, t int64) {
	u := e.user(uid, t)
	if u == nil {
		return
	}
	if u.firstEnter == 0 {
		u.firstEnter = t
	}
	room := ev.GetRoomId()
	if room == "" {
		u.visitRoom = ""
		return
	}
	if r := e.room(room, t); r != nil {
		u.visitRoom = r.id // shared, not copied per visit
	} else {
		u.visitRoom = strings.Clone(room)
	}
	u.visitAt, u.visitActs = t, 0
}

// activity counts an in-room action of uid for its open visit (R6).
func (e *Engine) activity(ev *tidev1.Event, uid string, t int64) {
	u := e.users[uid]
	if u == nil || u.visitRoom == "" || u.visitRoom != ev.GetRoomId() {
		return
	}
	u.last = max(u.last, t)
	u.visitActs++
}

// leave closes the visit: R6 counts it, R5 looks for its lockstep group.
func (e *Engine) leave(ev *tidev1.Event, uid string, t int64) {
	u := e.users[uid]
	room := ev.GetRoomId()
	if u == nil || u.visitRoom == "" || u.visitRoom != room {
		return // its entry was not seen
	}
	u = e.user(uid, t) // rolls the day over
	enter, acts := u.visitAt, u.visitActs
	u.visitRoom = ""
	dwell := t - enter
	r := e.room(room, t)
	u.visits++
	if dwell >= e.th.IdleVisitMin.Milliseconds() && acts == 0 {
		u.idle++
		if int(u.idle) >= e.th.IdleVisits && float64(u.idle) >= e.th.IdleShare*float64(u.visits) {
			idle, visits := u.idle, u.visits
			e.raise(KindUser, uid, RuleViewBot, int64(idle), room, t, func() string {
				return fmt.Sprintf("%d of %d room visits today lasted %s or more without any activity (thresholds %d, share %.2f)",
					idle, visits, e.th.IdleVisitMin, e.th.IdleVisits, e.th.IdleShare)
			})
		}
		if r != nil && e.IsFlaggedBy(KindUser, uid, RuleViewBot) {
			r.botVisits++
			if int(r.botVisits) >= e.th.RoomBotViewers {
				n := r.botVisits
				e.raise(KindRoom, room, RuleViewBot, int64(n), room, t, func() string {
					return fmt.Sprintf("%d idle visits by flagged view bots today (threshold %d)", n, e.th.RoomBotViewers)
				})
			}
		}
	}
	if r != nil && dwell <= e.th.LockstepStay.Milliseconds() {
		e.lockstep(r, u, enter, t)
	}
}

// IsFlaggedBy reports whether the subject is flagged by rule r.
func (e *Engine) IsFlaggedBy(k Kind, id string, r Rule) bool {
	e.fmu.RLock()
	defer e.fmu.RUnlock()
	return e.flagged[subject{k, id}]&(1<<r) != 0
}

// lockstep records u's short visit of room r entered at enter and, when
// enough short visits entered within LockstepEnter of it, counts an episode
// for each member (R5).
func (e *Engine) lockstep(r *roomState, u *userState, enter, t int64) {
	room := r.id
	keep := t - 2*e.th.LockstepStay.Milliseconds() - e.th.LockstepEnter.Milliseconds()
	kept := r.shorts[:0]
	for _, s := range r.shorts {
		if s.enter >= keep {
			kept = append(kept, s)
		}
	}
	r.shorts = kept
	if len(r.shorts) >= maxShorts {
		r.shorts = append(r.shorts[:0], r.shorts[maxShorts/2:]...)
	}
	r.shorts = append(r.shorts, shortVisit{u: u, enter: enter})
	spread := e.th.LockstepEnter.Milliseconds()
	before, after := 0, 0
	for _, s := range r.shorts {
		if s.enter <= enter && s.enter >= enter-spread {
			before++
		}
		if s.enter >= enter && s.enter <= enter+spread {
			after++
		}
	}
	lo, hi := enter-spread, enter
	n := before
	if after > before {
		lo, hi, n = enter, enter+spread, after
	}
	if n < e.th.LockstepGroup {
		return
	}
	e.raise(KindRoom, room, RuleLockstep, int64(n), room, t, func() string {
		return fmt.Sprintf("%d accounts entered within %s and left within %s (threshold %d)",
			n, e.th.LockstepEnter, e.th.LockstepStay, e.th.LockstepGroup)
	})
	gap := 2 * e.th.LockstepStay.Milliseconds()
	for _, s := range r.shorts {
		if s.enter < lo || s.enter > hi {
			continue
		}
		m := s.u
		if m.lastEpRoom == room && m.lastEpAt > enter-gap && m.lastEpAt < enter+gap {
			continue // already counted in this episode
		}
		m.episodes++
		m.lastEpRoom, m.lastEpAt = room, enter
		if int(m.episodes) >= e.th.LockstepEpisodes {
			eps := m.episodes
			e.raise(KindUser, m.id, RuleLockstep, int64(eps), room, t, func() string {
				return fmt.Sprintf("in %d lockstep groups of %d or more accounts entering a room within %s and leaving within %s",
					eps, e.th.LockstepGroup, e.th.LockstepEnter, e.th.LockstepStay)
			})
		}
	}
}
