package features

import (
	"slices"
	"time"
)

// entry is one item in a user's recency list: its number in the store's
// names, and no pointer, so that the lists are memory the garbage collector
// does not scan. 24 bytes.
type entry struct {
	name     uint32 // the item's id, interned in the store's names
	count    uint32
	last     int64 // ms
	strength float32
}

// entryBytes is the size of an entry.
const entryBytes = 24

// recent is a bounded list of items, least recently touched first. Lists are
// short (tens of entries) so a linear scan from the recent end is faster
// than a map and costs no memory.
type recent []entry

// touch adds weight w to id at time t and moves it to the recent end,
// dropping the least recent entry when the list holds limit. A count older
// than reset (ms, 0 = never) restarts from zero (impression streaks).
func (r *recent) touch(ns *names, id string, t int64, w float32, limit int, reset int64) {
	if id == "" || limit <= 0 {
		return
	}
	n := ns.intern(id)
	l := *r
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].name != n {
			continue
		}
		e := l[i]
		if reset > 0 && t-e.last > reset {
			e.count, e.strength = 0, 0
		}
		e.count++
		e.strength += w
		e.last = max(e.last, t)
		copy(l[i:], l[i+1:])
		l[len(l)-1] = e
		return
	}
	if len(l) >= limit {
		copy(l, l[1:])
		l = l[:len(l)-1]
	}
	*r = append(l, entry{name: n, last: t, strength: w, count: 1})
}

// remove deletes id.
func (r *recent) remove(ns *names, id string) {
	n, ok := ns.lookup(id)
	if !ok {
		return
	}
	l := *r
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].name == n {
			copy(l[i:], l[i+1:])
			l[len(l)-1] = entry{}
			*r = l[:len(l)-1]
			return
		}
	}
}

func (r recent) bytes() int { return cap(r) * entryBytes }

// engagements copies the list into dst (reusing its capacity), most recent first.
func (r recent) engagements(ns *names, dst []Engagement) []Engagement {
	if len(r) == 0 {
		return dst[:0]
	}
	dst = slices.Grow(dst[:0], len(r))[:len(r)]
	for i, e := range r {
		dst[len(r)-1-i] = Engagement{ID: ns.name(e.name), Last: time.UnixMilli(e.last).UTC(), Strength: float64(e.strength), Count: int(e.count)}
	}
	return dst
}

// user is the online state of one viewer (by user_id, or device_id when
// anonymous).
type user struct {
	last        int64 // ms of the last event
	rooms       recent
	products    recent
	categories  recent
	anchors     recent
	follows     recent // anchors followed, by merchant_id; strength unused
	left        recent // rooms left; strength is the dwell in seconds
	bought      recent // products with paid orders; count is the number of orders
	roomImps    recent // room impressions; count is the current streak
	productImps recent // product impressions
}

func (u *user) bytes() int {
	n := 0
	for _, r := range []recent{u.rooms, u.products, u.categories, u.anchors, u.follows, u.left, u.bought, u.roomImps, u.productImps} {
		n += r.bytes()
	}
	return n + 9*24 + 8
}

// Engagement is how much and how recently a user engaged with one room,
// product, category or anchor.
type Engagement struct {
	ID       string
	Last     time.Time // the latest engagement
	Strength float64   // the sum of the UserWeights of the engagements
	Count    int       // number of events
}

// UserFeatures are a user's recent behaviour. Every list is most recent first
// and bounded by UserLimits.
type UserFeatures struct {
	ID    string
	Known bool // false when the store has nothing for this user
	// Rooms, Products, Categories and Anchors the user engaged with.
	Rooms, Products, Categories, Anchors []Engagement
	// Follows are anchors (merchant_id) the user followed while this replica
	// was watching and has not unfollowed since: a fresh delta on top of the
	// durable follow list, not the whole list.
	Follows []Engagement
	// Left are rooms the user recently left; Strength is the dwell in seconds.
	Left []Engagement
	// Bought are products with paid orders; Count is the number of orders.
	Bought []Engagement
	// RoomImpressions and ProductImpressions count how often an item was
	// shown in the current streak (gaps shorter than UserLimits.ImpressionReset).
	RoomImpressions, ProductImpressions []Engagement
	LastEventAt                         time.Time
	// PriceBand is the long-term price preference; only long-term memory
	// (features/memory) fills it.
	PriceBand PriceBand
}

// Following reports whether the user followed anchorID (see Follows).
func (u UserFeatures) Following(anchorID string) bool { return find(u.Follows, anchorID) >= 0 }

// LeftRecently reports whether the user left roomID within d before now.
func (u UserFeatures) LeftRecently(roomID string, d time.Duration, now time.Time) bool {
	i := find(u.Left, roomID)
	return i >= 0 && now.Sub(u.Left[i].Last) <= d
}

// Impressions is how often the item was shown to the user in the current
// streak; room says whether id is a room (else a product).
func (u UserFeatures) Impressions(id string, room bool) int {
	l := u.ProductImpressions
	if room {
		l = u.RoomImpressions
	}
	if i := find(l, id); i >= 0 {
		return l[i].Count
	}
	return 0
}

func find(l []Engagement, id string) int {
	for i := range l {
		if l[i].ID == id {
			return i
		}
	}
	return -1
}

// UserWeights are the engagement strengths that events add to a user's
// recency lists.
type UserWeights struct {
	Enter, Chat, Like, Gift, Share, Follow float32 // room events (room and anchor lists)
	// A ROOM_LEAVE adds DwellPerMinute per minute of dwell, at most MaxDwell.
	DwellPerMinute, MaxDwell float32
	Click, Cart, Order       float32 // product events (product, category, anchor lists)
}

// DefaultUserWeights: enter 1, chat 0.5, like 0.2, gift 2, share 1, follow 3,
// dwell 0.5 per minute up to 5, click 1, add-to-cart 3, paid order 5.
func DefaultUserWeights() UserWeights {
	return UserWeights{Enter: 1, Chat: 0.5, Like: 0.2, Gift: 2, Share: 1, Follow: 3,
		DwellPerMinute: 0.5, MaxDwell: 5, Click: 1, Cart: 3, Order: 5}
}

func (w UserWeights) dwell(ms int64) float32 {
	return min(w.DwellPerMinute*float32(ms)/60_000, w.MaxDwell)
}

// UserLimits bound the per-user lists.
type UserLimits struct {
	Recent          int           // rooms, products, categories, anchors (each)
	Follows         int           // fresh follows kept
	Left            int           // rooms recently left
	Bought          int           // products bought
	Impressions     int           // rooms and products with impression counts (each)
	ImpressionReset time.Duration // a gap this long restarts an impression count
}

// DefaultUserLimits: 50 recent items per list, 200 follows, 20 left rooms,
// 50 bought products, 200 impression counters per kind, reset after 6 h.
func DefaultUserLimits() UserLimits {
	return UserLimits{Recent: 50, Follows: 200, Left: 20, Bought: 50, Impressions: 200, ImpressionReset: 6 * time.Hour}
}
