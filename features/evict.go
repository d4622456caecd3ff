package features

import "slices"

// sweep expires viewer timeouts and evicts idle entities. Called by the
// writer (wmu held) every sweepEvery of event time.
func (s *Store) sweep(wm int64) {
	c := &s.cfg
	type ended struct{ room, merchant string }
	var gone []ended
	n := s.rooms.sweep(func(id string, r *room) bool {
		r.viewers.expire(wm - c.viewerTimeout)
		idle := wm - r.last
		if r.live {
			if idle > c.liveTTL {
				gone = append(gone, ended{id, r.merchant})
				return true
			}
			return false
		}
		return idle > c.entityTTL
	})
	for _, g := range gone {
		s.setLive(g.room, g.merchant, false, 0)
	}
	n += s.products.sweep(func(_ string, p *product) bool { return wm-p.last > c.entityTTL })
	n += s.anchors.sweep(func(_ string, a *anchor) bool {
		idle := wm - a.last
		return idle > c.liveTTL || (idle > c.entityTTL && len(a.liveRooms) == 0)
	})
	n += s.users.sweep(func(_ string, u *user) bool { return wm-u.last > c.userTTL })
	gone = gone[:0]
	n += capTable(s.rooms, c.maxEntities, func(r *room) int64 { return r.last }, func(id string, r *room) {
		if r.live {
			gone = append(gone, ended{id, r.merchant})
		}
	})
	for _, g := range gone {
		s.setLive(g.room, g.merchant, false, 0)
	}
	n += capTable(s.products, c.maxEntities, func(p *product) int64 { return p.last }, nil)
	n += capTable(s.anchors, c.maxEntities, func(a *anchor) int64 { return a.last }, nil)
	n += capTable(s.users, c.maxUsers, func(u *user) int64 { return u.last }, nil)
	if n > 0 {
		s.evicted.Add(int64(n))
	}
}

// capTable evicts the least recently active entities of t beyond limit.
func capTable[T any](t *table[T], limit int, last func(*T) int64, onEvict func(string, *T)) int {
	if limit <= 0 || t.len() <= limit {
		return 0
	}
	var times []int64
	t.each(func(_ string, e *T) { times = append(times, last(e)) })
	excess := len(times) - limit
	if excess <= 0 {
		return 0
	}
	slices.Sort(times)
	cut := times[excess-1] // evict everything at or before cut
	return t.sweep(func(id string, e *T) bool {
		if last(e) > cut {
			return false
		}
		if onEvict != nil {
			onEvict(id, e)
		}
		return true
	})
}
