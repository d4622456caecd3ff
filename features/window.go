package features

import "time"

// counter names one of the counted quantities of a window. Money counters
// (gifts, GMV) are int64 fen; the others are event counts (likes count taps).
type counter uint8

const (
	cImpressions counter = iota
	cEnters
	cChats
	cLikes
	cShares
	cFollows
	cClicks
	cCarts
	cOrders
	nCounts // number of uint32 counters
)

// Money counters live after the count counters.
const (
	mGifts = iota
	mGMV
	nMoney
)

// Window names one of the three sliding windows.
type Window int

// The sliding windows. Each is a ring of 60 buckets in event time; a window
// ending at watermark w covers the buckets (w-60, w], so its start is exact to
// one bucket width (1 s, 5 s and 1 min).
const (
	Last1m Window = iota
	Last5m
	Last1h
	numWindows
)

// Span is the length of the window.
func (w Window) Span() time.Duration {
	s := specs[w]
	return time.Duration(s.width*int64(s.n)) * time.Millisecond
}

// BucketWidth is the resolution of the window.
func (w Window) BucketWidth() time.Duration { return time.Duration(specs[w].width) * time.Millisecond }

func (w Window) String() string {
	switch w {
	case Last1m:
		return "1m"
	case Last5m:
		return "5m"
	case Last1h:
		return "1h"
	}
	return "window?"
}

type spec struct {
	width int64  // bucket width, ms
	n     uint32 // buckets in the window
}

var specs = [numWindows]spec{{1000, 60}, {5000, 60}, {60_000, 60}}

// maxSpan is the longest window in ms: an entity idle for longer has empty windows.
var maxSpan = specs[Last1h].width * int64(specs[Last1h].n)

// Counts are the totals of one window. Money is in fen.
type Counts struct {
	Impressions int64 // room or product impressions
	Enters      int64 // room enters
	Chats       int64 // chat messages (弹幕)
	Likes       int64 // likes: the sum of the taps batched in LIKE events
	Shares      int64
	Follows     int64 // follows of the anchor (FOLLOW events)
	Clicks      int64 // product clicks
	Carts       int64 // add-to-cart events
	Orders      int64 // paid orders (ORDER_PAID)
	Gifts       int64 // gift value, fen
	GMV         int64 // paid order value, fen
}

// bucket holds the counts of one bucket width. 56 bytes.
type bucket struct {
	money [nMoney]int64
	n     [nCounts]uint32
	idx   uint32 // bucket number: event time / width (ms); fits until 2106 for 1 s buckets
}

// sums are the running totals of the live buckets of a ring.
type sums struct {
	money [nMoney]int64
	n     [nCounts]int64
}

// update is one increment carried by an event.
type update struct {
	c     counter // a count counter, or a money counter (mGifts, mGMV) when money is set
	money bool
	v     int64
}

// ring is a circular buffer of the non-empty buckets of one window, oldest
// first, with running sums. Buckets are allocated only when an event lands
// in them, so a quiet entity costs a few buckets, a busy one at most 64.
type ring struct {
	buf  []bucket // len is a power of two (or 0)
	head int
	size int
	sum  sums
}

func (r *ring) at(i int) *bucket { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

// popOld removes buckets with idx < min from the head.
func (r *ring) popOld(min uint32) {
	for r.size > 0 {
		b := r.at(0)
		if b.idx >= min {
			return
		}
		r.sub(b)
		r.head = (r.head + 1) & (len(r.buf) - 1)
		r.size--
	}
}

func (r *ring) sub(b *bucket) {
	for i := range b.n {
		r.sum.n[i] -= int64(b.n[i])
	}
	for i := range b.money {
		r.sum.money[i] -= b.money[i]
	}
}

func (r *ring) grow() {
	n := max(2*len(r.buf), 1)
	nb := make([]bucket, n)
	for i := 0; i < r.size; i++ {
		nb[i] = *r.at(i)
	}
	r.buf, r.head = nb, 0
}

// add applies us to bucket idx of a window of n buckets. Events older than
// the window ending at floor (the store's watermark bucket) are dropped; it
// reports whether the event was counted.
func (r *ring) add(idx, n, floor uint32, us []update) bool {
	if idx+n <= floor {
		return false // already outside the window
	}
	var b *bucket
	switch {
	case r.size > 0 && r.at(r.size-1).idx == idx:
		b = r.at(r.size - 1)
	case r.size == 0 || r.at(r.size-1).idx < idx:
		if idx >= n {
			r.popOld(idx - n + 1)
		}
		if r.size == len(r.buf) {
			r.grow()
		}
		b = r.at(r.size)
		*b = bucket{idx: idx}
		r.size++
	default: // late event: find or insert its bucket
		newest := r.at(r.size - 1).idx
		if idx+n <= newest {
			return false
		}
		i := r.size - 1
		for i > 0 && r.at(i-1).idx >= idx {
			i--
		}
		if r.at(i).idx != idx {
			if r.size == len(r.buf) {
				r.grow()
			}
			for j := r.size; j > i; j-- {
				*r.at(j) = *r.at(j - 1)
			}
			*r.at(i) = bucket{idx: idx}
			r.size++
		}
		b = r.at(i)
	}
	for _, u := range us {
		if u.money {
			b.money[u.c] += u.v
			r.sum.money[u.c] += u.v
		} else {
			b.n[u.c] += uint32(u.v)
			r.sum.n[u.c] += int64(uint32(u.v))
		}
	}
	return true
}

// read writes the totals of the buckets with idx >= min to c without
// changing the ring (readers hold only a read lock).
func (r *ring) read(min uint32, c *Counts) {
	s := &r.sum
	n, m := s.n, s.money
	for i := 0; i < r.size; i++ {
		b := r.at(i)
		if b.idx >= min {
			break
		}
		for j := range b.n {
			n[j] -= int64(b.n[j])
		}
		for j := range b.money {
			m[j] -= b.money[j]
		}
	}
	*c = Counts{
		Impressions: n[cImpressions], Enters: n[cEnters], Chats: n[cChats], Likes: n[cLikes],
		Shares: n[cShares], Follows: n[cFollows], Clicks: n[cClicks], Carts: n[cCarts],
		Orders: n[cOrders], Gifts: m[mGifts], GMV: m[mGMV],
	}
}

// windows are the three rings of one entity.
type windows [numWindows]ring

// add applies us at event time t (ms) with the store watermark wm (ms).
func (ws *windows) add(t, wm int64, us []update) {
	if len(us) == 0 {
		return
	}
	for w := range ws {
		s := specs[w]
		ws[w].add(uint32(t/s.width), s.n, uint32(wm/s.width), us)
	}
}

// read writes the three windows ending at watermark wm (ms) to out.
func (ws *windows) read(wm int64, out *[NumWindows]Counts) {
	for w := range ws {
		s := specs[w]
		end := uint32(wm / s.width)
		min := uint32(0)
		if end >= s.n {
			min = end - s.n + 1
		}
		ws[w].read(min, &out[w])
	}
}

// bytes is the heap held by the rings.
func (ws *windows) bytes() int {
	n := 0
	for w := range ws {
		n += cap(ws[w].buf) * bucketBytes
	}
	return n
}

const bucketBytes = 56
