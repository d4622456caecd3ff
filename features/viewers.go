package features

import "strings"

// viewers tracks who is in a room now: users who entered and have not left,
// and who were seen (enter, chat, like, gift, …) within the timeout.
//
// seen maps each viewer to the time they were last seen; queue records those
// times in arrival order so that timeouts expire in amortised O(1) per event
// without scanning the map. A viewer who stays active is re-queued at most
// every timeout/4, so the queue holds at most ~5 entries per viewer.
type viewers struct {
	seen  map[string]int64
	queue []seenAt
	qh    int // head of queue
}

type seenAt struct {
	who string
	at  int64
}

// touch records that who was in the room at t: an enter, or activity that
// shows presence (chat, like, gift), which also counts viewers whose enter
// happened before this replica's history began. enter forces an update.
func (v *viewers) touch(who string, t, timeout int64, enter bool) {
	if who == "" {
		return
	}
	last, ok := v.seen[who]
	if ok && t <= last {
		return
	}
	if ok && t-last < timeout/4 && !enter {
		return // recent enough; the queue already has a close entry
	}
	if v.seen == nil {
		v.seen = make(map[string]int64)
	}
	if !ok {
		who = strings.Clone(who)
	}
	v.seen[who] = t
	v.queue = append(v.queue, seenAt{who, t})
}

// leave removes who.
func (v *viewers) leave(who string) { delete(v.seen, who) }

// expire drops viewers last seen before cutoff (ms).
func (v *viewers) expire(cutoff int64) {
	for v.qh < len(v.queue) && v.queue[v.qh].at < cutoff {
		q := v.queue[v.qh]
		if last, ok := v.seen[q.who]; ok && last == q.at {
			delete(v.seen, q.who)
		}
		v.queue[v.qh] = seenAt{}
		v.qh++
	}
	if v.qh > 0 && v.qh >= len(v.queue)/2 {
		n := copy(v.queue, v.queue[v.qh:])
		clear(v.queue[n:])
		v.queue = v.queue[:n]
		v.qh = 0
		if cap(v.queue) > 64 && n < cap(v.queue)/4 {
			v.queue = append([]seenAt(nil), v.queue...)
		}
	}
	if len(v.seen) == 0 && len(v.queue) == 0 {
		*v = viewers{} // let the map go
	}
}

// reset empties the room (the stream ended).
func (v *viewers) reset() { *v = viewers{} }

// count is the number of viewers now.
func (v *viewers) count() int { return len(v.seen) }

// bytes estimates the heap held: map entries (~48 bytes with the key's bytes
// counted separately) and queue entries (24 bytes).
func (v *viewers) bytes() int { return len(v.seen)*(48+16) + cap(v.queue)*24 }
