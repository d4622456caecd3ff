package features

import (
	"slices"
	"time"
)

// NumWindows is the number of sliding windows (Last1m, Last5m, Last1h).
const NumWindows = int(numWindows)

// RoomFeatures are the online features of one room, read at the store's
// watermark. Index Windows by Last1m, Last5m or Last1h.
type RoomFeatures struct {
	ID         string
	Known      bool   // false when the store has nothing for this room
	MerchantID string // the room's anchor
	// Live status from STREAM_START/STREAM_END.
	Live          bool
	LiveSessionID string
	StartedAt     time.Time // the latest STREAM_START
	EndedAt       time.Time // the latest STREAM_END
	// ViewersNow are users who entered (or were active) and have not left,
	// seen within the viewer timeout.
	ViewersNow  int
	LastEventAt time.Time
	Windows     [NumWindows]Counts
}

// ProductFeatures are the online features of one product.
type ProductFeatures struct {
	ID          string
	Known       bool
	Category    string // from attrs["category"], PRODUCT_CHANGED or the Catalog; empty if unknown
	MerchantID  string
	RoomID      string // the room it was last sold or shown in
	LastEventAt time.Time
	Windows     [NumWindows]Counts
}

// AnchorFeatures are the online features of one anchor (merchant_id),
// summed over their rooms.
type AnchorFeatures struct {
	ID          string
	Known       bool
	LiveRooms   int    // rooms of this anchor that are live
	LiveRoomID  string // the most recently started of them
	LastEventAt time.Time
	Windows     [NumWindows]Counts
}

func ms(t int64) time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.UnixMilli(t).UTC()
}

// Room returns the features of room id.
func (s *Store) Room(id string) RoomFeatures {
	var f RoomFeatures
	s.readRoom(id, s.wm.Load(), &f)
	return f
}

// Rooms reads the features of each id into dst (grown as needed) and
// returns it; the cheap way to read a page of candidates.
func (s *Store) Rooms(ids []string, dst []RoomFeatures) []RoomFeatures {
	dst = dst[:0]
	wm := s.wm.Load()
	for _, id := range ids {
		dst = append(dst, RoomFeatures{})
		s.readRoom(id, wm, &dst[len(dst)-1])
	}
	return dst
}

func (s *Store) readRoom(id string, wm int64, f *RoomFeatures) {
	f.ID = id
	sh := s.rooms.shard(id)
	sh.mu.RLock()
	r := sh.m[id]
	if r == nil {
		sh.mu.RUnlock()
		return
	}
	f.Known = true
	f.MerchantID = r.merchant
	f.Live, f.LiveSessionID = r.live, r.session
	f.StartedAt, f.EndedAt = ms(r.startedAt), ms(r.endedAt)
	f.ViewersNow = r.viewers.count()
	f.LastEventAt = ms(r.last)
	r.win.read(wm, &f.Windows)
	sh.mu.RUnlock()
}

// LiveRoomIDs returns the ids of the live rooms, sorted. The slice is shared:
// do not modify it.
func (s *Store) LiveRoomIDs() []string {
	if s.liveDirty.Load() {
		s.liveMu.Lock()
		if s.liveDirty.Load() {
			ids := make([]string, 0, len(s.liveSet))
			for id := range s.liveSet {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			s.live.Store(&ids)
			s.liveDirty.Store(false)
		}
		s.liveMu.Unlock()
	}
	return *s.live.Load()
}

// LiveRooms returns the features of every live room.
func (s *Store) LiveRooms() []RoomFeatures {
	ids := s.LiveRoomIDs()
	return s.Rooms(ids, make([]RoomFeatures, 0, len(ids)))
}

// Product returns the features of product id.
func (s *Store) Product(id string) ProductFeatures {
	f := ProductFeatures{ID: id}
	wm := s.wm.Load()
	sh := s.products.shard(id)
	sh.mu.RLock()
	if p := sh.m[id]; p != nil {
		f.Known = true
		f.Category, f.MerchantID, f.RoomID = p.category, p.merchant, p.room
		f.LastEventAt = ms(p.last)
		p.win.read(wm, &f.Windows)
	}
	sh.mu.RUnlock()
	if f.Category == "" && s.cfg.catalog != nil {
		f.Category = s.cfg.catalog.Category(id)
	}
	return f
}

// Anchor returns the features of anchor (merchant) id.
func (s *Store) Anchor(id string) AnchorFeatures {
	f := AnchorFeatures{ID: id}
	wm := s.wm.Load()
	sh := s.anchors.shard(id)
	sh.mu.RLock()
	if a := sh.m[id]; a != nil {
		f.Known = true
		f.LiveRooms = len(a.liveRooms)
		if n := len(a.liveRooms); n > 0 {
			f.LiveRoomID = a.liveRooms[n-1]
		}
		f.LastEventAt = ms(a.last)
		a.win.read(wm, &f.Windows)
	}
	sh.mu.RUnlock()
	return f
}

// User returns the recent behaviour of a user, by user_id (or device_id for
// anonymous viewers). The lists are fresh copies.
func (s *Store) User(id string) UserFeatures {
	var f UserFeatures
	s.UserInto(id, &f)
	return f
}

// UserInto is User reusing the lists' capacity in f: no allocation once f
// has served a user with as many entries.
func (s *Store) UserInto(id string, f *UserFeatures) {
	f.ID, f.Known, f.LastEventAt, f.PriceBand = id, false, time.Time{}, PriceBand{}
	sh := s.users.shard(id)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	u := sh.m[id]
	if u == nil {
		u = &user{}
	} else {
		f.Known = true
		f.LastEventAt = ms(u.last)
	}
	f.Rooms = u.rooms.engagements(s.names, f.Rooms)
	f.Products = u.products.engagements(s.names, f.Products)
	f.Categories = u.categories.engagements(s.names, f.Categories)
	f.Anchors = u.anchors.engagements(s.names, f.Anchors)
	f.Follows = u.follows.engagements(s.names, f.Follows)
	f.Left = u.left.engagements(s.names, f.Left)
	f.Bought = u.bought.engagements(s.names, f.Bought)
	f.RoomImpressions = u.roomImps.engagements(s.names, f.RoomImpressions)
	f.ProductImpressions = u.productImps.engagements(s.names, f.ProductImpressions)
}

// Stats describe the store.
type Stats struct {
	Rooms, Products, Anchors, Users int
	LiveRooms                       int
	Applied                         int64 // events applied
	Ignored                         int64 // events without a time or type
	Filtered                        int64 // events WithFilter refused (flagged traffic)
	Evicted                         int64 // idle entities evicted
	Watermark                       time.Time
	// Lag is the event-to-feature lag (wall clock when applied minus
	// received_at) of the events Follow applied.
	Lag LagStats
}

// Stats counts the entities (it visits every shard; not for the hot path).
func (s *Store) Stats() Stats {
	return Stats{
		Rooms: s.rooms.len(), Products: s.products.len(), Anchors: s.anchors.len(), Users: s.users.len(),
		LiveRooms: len(s.LiveRoomIDs()),
		Applied:   s.applied.Load(), Ignored: s.ignored.Load(), Evicted: s.evicted.Load(),
		Filtered:  s.filtered.Load(),
		Watermark: s.Watermark(), Lag: s.lag.stats(),
	}
}
