package ctr

import (
	"math"
	"time"

	"github.com/tide-live/tide/features"
)

// Feature indexes Features. For rooms the counts are the room's; for
// products the slots named after room counts hold the product's (see
// ProductNames).
type Feature int

// The features of a candidate. Counts are log(1+n).
const (
	CF             Feature = iota // CF score of the candidate (its anchor for rooms), normalised to [0,1] over the candidates
	CFKnown                       // 1 when the CF model knows the candidate and the viewer has a usable history
	Live                          // 1 when the room (a product's room) is live now
	Viewers                       // viewers in the room now
	Enters1m                      // room enters, last 1 min (products: clicks)
	Enters5m                      // room enters, last 5 min (products: clicks)
	Chats1m                       // chat messages, 1 min (products: add-to-carts)
	Chats5m                       // chat messages, 5 min (products: add-to-carts)
	Likes1m                       // like taps, 1 min (products: the room's enters)
	Likes5m                       // like taps, 5 min (products: the room's enters)
	Orders1m                      // paid orders, 1 min
	Orders5m                      // paid orders, 5 min
	Impressions5m                 // impressions, 5 min
	EnterRate5m                   // (enters+1)/(impressions+10) over 5 min (products: clicks per impression)
	AnchorStrength                // the viewer's engagement strength with the anchor (repeat consumption)
	AnchorCount                   // the viewer's number of engagements with the anchor
	AnchorRecency                 // exp(−hours since the viewer last engaged with the anchor / 24); 0 if never
	Visited                       // 1 when the viewer engaged with the anchor before (products: with the product)
	Follows                       // 1 when the viewer follows the anchor
	Category                      // the viewer's share of recent engagement in the candidate's category
	Freshness                     // exp(−minutes since the live session started / 30); 0 if not live
	SessionAge                    // log(1+minutes since the live session started)
	Seen                          // impressions of this candidate to the viewer in the current streak (fatigue)
	LeftRecently                  // exp(−minutes since the viewer left this room / 30); 0 if not left
	CFNew                         // CF × (1 − Visited): the CF score of an anchor not visited before
	NumFeatures                   // the number of features
)

// N is the length of a Features vector.
const N = int(NumFeatures)

// Features is one candidate's feature vector. It is a value (no pointers),
// so building one allocates nothing.
type Features [N]float64

// RoomNames names the features of a room candidate, by index.
var RoomNames = [N]string{
	"cf", "cf_known", "live", "viewers", "enters_1m", "enters_5m", "chats_1m", "chats_5m",
	"likes_1m", "likes_5m", "orders_1m", "orders_5m", "impressions_5m", "enter_rate_5m",
	"anchor_strength", "anchor_count", "anchor_recency", "visited", "follows", "category",
	"freshness", "session_age", "seen", "left_recently", "cf_new",
}

// ProductNames names the features of a product candidate, by index.
var ProductNames = [N]string{
	"cf", "cf_known", "room_live", "room_viewers", "clicks_1m", "clicks_5m", "carts_1m", "carts_5m",
	"room_enters_1m", "room_enters_5m", "orders_1m", "orders_5m", "impressions_5m", "click_rate_5m",
	"anchor_strength", "anchor_count", "anchor_recency", "engaged_product", "follows", "category",
	"freshness", "session_age", "seen", "left_room_recently", "cf_new",
}

// Available reports whether a room may be recommended: only while it is
// live.
func Available(r *features.RoomFeatures) bool { return r.Known && r.Live }

// User is one viewer's features indexed for building many candidates'
// vectors: a request resets it once and then builds each candidate in
// O(1). Reuse a User across requests; once its tables have grown to a
// viewer's list sizes, Reset and the builders allocate nothing.
type User struct {
	now        int64 // ms
	anchors    table
	follows    table
	categories table
	products   table
	roomImps   table
	prodImps   table
	left       table
	catTotal   float64
}

// Reset indexes f as of now (the request time).
func (u *User) Reset(f *features.UserFeatures, now time.Time) {
	u.now = now.UnixMilli()
	u.anchors.reset(f.Anchors)
	u.follows.reset(f.Follows)
	u.categories.reset(f.Categories)
	u.products.reset(f.Products)
	u.roomImps.reset(f.RoomImpressions)
	u.prodImps.reset(f.ProductImpressions)
	u.left.reset(f.Left)
	u.catTotal = 0
	for i := range f.Categories {
		u.catTotal += f.Categories[i].Strength
	}
}

func lg(n int64) float64 { return math.Log1p(float64(max(n, 0))) }

// hoursSince is the time from t (ms) to the request, in hours, at least 0.
func (u *User) hoursSince(t int64) float64 { return max(float64(u.now-t), 0) / 3.6e6 }

// Room builds the vector of room r for this viewer into x. category is the
// room's category ("" if unknown); cf is the CF score of the room's anchor
// normalised to [0,1] (NormalizeCF), negative when the model cannot score
// it (unknown anchor or no history).
func (u *User) Room(x *Features, r *features.RoomFeatures, category string, cf float64) {
	u.common(x, r, r.MerchantID, category, cf)
	w1, w5 := &r.Windows[features.Last1m], &r.Windows[features.Last5m]
	x[Enters1m], x[Enters5m] = lg(w1.Enters), lg(w5.Enters)
	x[Chats1m], x[Chats5m] = lg(w1.Chats), lg(w5.Chats)
	x[Likes1m], x[Likes5m] = lg(w1.Likes), lg(w5.Likes)
	x[Orders1m], x[Orders5m] = lg(w1.Orders), lg(w5.Orders)
	x[Impressions5m] = lg(w5.Impressions)
	x[EnterRate5m] = float64(w5.Enters+1) / float64(w5.Impressions+10)
	x[Visited] = 0
	if e := u.anchors.get(r.MerchantID); e != nil {
		x[Visited] = 1
	}
	x[Seen] = 0
	if e := u.roomImps.get(r.ID); e != nil {
		x[Seen] = lg(int64(e.count))
	}
	x[LeftRecently] = 0
	if e := u.left.get(r.ID); e != nil {
		x[LeftRecently] = math.Exp(-u.hoursSince(e.last) * 2) // 30 min
	}
	x[CFNew] = x[CF] * (1 - x[Visited])
}

// Product builds the vector of product p for this viewer into x. room is
// the features of the room the product is shown in (nil if none); cf is the
// product's normalised CF score (negative when unknown).
func (u *User) Product(x *Features, p *features.ProductFeatures, room *features.RoomFeatures, cf float64) {
	var none features.RoomFeatures
	if room == nil {
		room = &none
	}
	merchant := p.MerchantID
	if merchant == "" {
		merchant = room.MerchantID
	}
	u.common(x, room, merchant, p.Category, cf)
	w1, w5 := &p.Windows[features.Last1m], &p.Windows[features.Last5m]
	x[Enters1m], x[Enters5m] = lg(w1.Clicks), lg(w5.Clicks)
	x[Chats1m], x[Chats5m] = lg(w1.Carts), lg(w5.Carts)
	x[Likes1m], x[Likes5m] = lg(room.Windows[features.Last1m].Enters), lg(room.Windows[features.Last5m].Enters)
	x[Orders1m], x[Orders5m] = lg(w1.Orders), lg(w5.Orders)
	x[Impressions5m] = lg(w5.Impressions)
	x[EnterRate5m] = float64(w5.Clicks+1) / float64(w5.Impressions+10)
	x[Visited] = 0
	if e := u.products.get(p.ID); e != nil {
		x[Visited] = 1
	}
	x[Seen] = 0
	if e := u.prodImps.get(p.ID); e != nil {
		x[Seen] = lg(int64(e.count))
	}
	x[LeftRecently] = 0
	if room.ID != "" {
		if e := u.left.get(room.ID); e != nil {
			x[LeftRecently] = math.Exp(-u.hoursSince(e.last) * 2)
		}
	}
	x[CFNew] = x[CF] * (1 - x[Visited])
}

// common fills the features rooms and products share: CF, live status and
// session, viewers, the anchor's repeat consumption and the category match.
func (u *User) common(x *Features, r *features.RoomFeatures, merchant, category string, cf float64) {
	x[CF], x[CFKnown] = 0, 0
	if cf >= 0 {
		x[CF], x[CFKnown] = min(cf, 1), 1
	}
	x[Live], x[Freshness], x[SessionAge] = 0, 0, 0
	if Available(r) {
		x[Live] = 1
		if !r.StartedAt.IsZero() {
			mins := max(float64(u.now-r.StartedAt.UnixMilli()), 0) / 60_000
			x[Freshness] = math.Exp(-mins / 30)
			x[SessionAge] = math.Log1p(mins)
		}
	}
	x[Viewers] = lg(int64(r.ViewersNow))
	x[AnchorStrength], x[AnchorCount], x[AnchorRecency] = 0, 0, 0
	if e := u.anchors.get(merchant); e != nil {
		x[AnchorStrength] = math.Log1p(float64(e.strength))
		x[AnchorCount] = lg(int64(e.count))
		x[AnchorRecency] = math.Exp(-u.hoursSince(e.last) / 24)
	}
	x[Follows] = 0
	if u.follows.get(merchant) != nil {
		x[Follows] = 1
	}
	x[Category] = 0
	if category != "" && u.catTotal > 0 {
		if e := u.categories.get(category); e != nil {
			x[Category] = float64(e.strength) / u.catTotal
		}
	}
}
