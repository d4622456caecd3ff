package feed

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tide-live/tide/live"
)

// RoomInfo is what the feed knows of a room besides its online features:
// the room registry's room (live.Room: title, cover, category, anchor) and
// the signed, expiring pull URLs of its current stream (set by the
// registry's loader, serving/roomfeed; shown on live cards only). Where
// there is no registry only ID, MerchantID (the anchor) and Category (for
// diversity and category affinity) are set.
type RoomInfo struct {
	live.Room
	PullFLV, PullHLS string
}

// ProductInfo is what the feed knows of a product besides its online features.
type ProductInfo struct {
	ID         string
	MerchantID string
	Category   string
	Title      string
	PriceFen   int64
	ImageURL   string // the cover image of the card
}

// Announcement is a scheduled live session (预告) of a room.
type Announcement struct {
	RoomID        string
	LiveSessionID string
	Start, End    time.Time
}

// Catalog holds room and product metadata, the products pinned in each room
// (小黄车) and the announced sessions. Reads are lock-free (a copy-on-write
// snapshot); writes copy, so load in batches. The feed falls back to the
// online features (merchant, category from events) for what the catalog
// lacks. Safe for concurrent use.
type Catalog struct {
	mu  sync.Mutex // serialises writers
	cur atomic.Pointer[catalogData]
}

type catalogData struct {
	version  uint64
	rooms    map[string]RoomInfo
	products map[string]ProductInfo
	lineups  map[string][]string
	schedule []Announcement // by Start
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	c := &Catalog{}
	c.cur.Store(&catalogData{rooms: map[string]RoomInfo{}, products: map[string]ProductInfo{}, lineups: map[string][]string{}})
	return c
}

func (c *Catalog) update(f func(d *catalogData)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.cur.Load()
	d := *old
	d.version++
	f(&d)
	c.cur.Store(&d)
}

// PutRooms adds or replaces rooms.
func (c *Catalog) PutRooms(rs ...RoomInfo) {
	c.update(func(d *catalogData) {
		d.rooms = maps.Clone(d.rooms)
		for _, r := range rs {
			d.rooms[r.ID] = r
		}
	})
}

// PutProducts adds or replaces products.
func (c *Catalog) PutProducts(ps ...ProductInfo) {
	c.update(func(d *catalogData) {
		d.products = maps.Clone(d.products)
		for _, p := range ps {
			d.products[p.ID] = p
		}
	})
}

// SetLineup sets the products pinned in a room, in shelf order (an empty
// list clears it).
func (c *Catalog) SetLineup(roomID string, productIDs []string) {
	c.update(func(d *catalogData) {
		d.lineups = maps.Clone(d.lineups)
		if len(productIDs) == 0 {
			delete(d.lineups, roomID)
			return
		}
		d.lineups[roomID] = slices.Clone(productIDs)
	})
}

// SetSchedule replaces the announced sessions.
func (c *Catalog) SetSchedule(as []Announcement) {
	s := slices.Clone(as)
	slices.SortStableFunc(s, func(a, b Announcement) int { return a.Start.Compare(b.Start) })
	c.update(func(d *catalogData) { d.schedule = s })
}

// Room returns a room's metadata.
func (c *Catalog) Room(id string) (RoomInfo, bool) {
	r, ok := c.cur.Load().rooms[id]
	return r, ok
}

// Product returns a product's metadata.
func (c *Catalog) Product(id string) (ProductInfo, bool) {
	p, ok := c.cur.Load().products[id]
	return p, ok
}

// Lineup returns the products pinned in a room, in shelf order. The slice
// is shared: do not modify it.
func (c *Catalog) Lineup(roomID string) []string { return c.cur.Load().lineups[roomID] }

// Upcoming returns the announced sessions starting in [from, to), by start.
func (c *Catalog) Upcoming(from, to time.Time) []Announcement { return c.cur.Load().upcoming(from, to) }

func (d *catalogData) upcoming(from, to time.Time) []Announcement {
	s := d.schedule
	i, _ := slices.BinarySearchFunc(s, from, func(a Announcement, t time.Time) int { return a.Start.Compare(t) })
	j := i
	for j < len(s) && s[j].Start.Before(to) {
		j++
	}
	return s[i:j:j]
}

// Version changes whenever the catalog does.
func (c *Catalog) Version() uint64 { return c.cur.Load().version }

func (c *Catalog) data() *catalogData { return c.cur.Load() }
