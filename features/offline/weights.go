package offline

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ItemKind is what the items of an extraction are.
type ItemKind int

// Item kinds.
const (
	// Products: product events (click, add-to-cart, orders, product shares,
	// search clicks) by product_id.
	Products ItemKind = iota
	// Anchors: room events (enter, leave, chat, like, gift, share, follow,
	// unfollow) by the room's anchor, merchant_id.
	Anchors
)

func (k ItemKind) String() string {
	switch k {
	case Products:
		return "products"
	case Anchors:
		return "anchors"
	}
	return "kind" + strconv.Itoa(int(k))
}

// Weights turn events into interaction strength. A (user, item) pair's
// weight is the sum over its events; pairs whose sum is not positive (a
// refund cancelling an order, an unfollow cancelling a follow) are dropped.
type Weights struct {
	// Product events.
	ProductClick  float64
	AddToCart     float64
	OrderCreated  float64
	OrderPaid     float64 // on top of OrderCreated
	OrderRefunded float64 // usually negative
	ProductShare  float64
	SearchClick   float64 // a search result tap naming a product
	// Room events, credited to the room's anchor.
	Enter    float64
	Chat     float64
	Like     float64 // per LIKE event, whatever its tap count
	Gift     float64
	Share    float64
	Follow   float64
	Unfollow float64 // usually negative
	// A ROOM_LEAVE weighs by its dwell (value, ms): ShortView below
	// ShortDwell; from View at ShortDwell rising linearly to LongView at
	// LongDwell and beyond.
	ShortDwell, LongDwell     time.Duration
	ShortView, View, LongView float64
}

// DefaultWeights: click 1 < add-to-cart 3 < order 4 (+2 when paid, −6 when
// refunded); product share 1, search click 1. Rooms: enter 0.2; a view
// under 10 s 0.1, else 0.5 at 10 s rising to 3 at 10 min; chat 0.5, like
// 0.2, gift 2, share 1, follow 4, unfollow −4.
func DefaultWeights() Weights {
	return Weights{
		ProductClick: 1, AddToCart: 3, OrderCreated: 4, OrderPaid: 2, OrderRefunded: -6,
		ProductShare: 1, SearchClick: 1,
		Enter: 0.2, Chat: 0.5, Like: 0.2, Gift: 2, Share: 1, Follow: 4, Unfollow: -4,
		ShortDwell: 10 * time.Second, LongDwell: 10 * time.Minute,
		ShortView: 0.1, View: 0.5, LongView: 3,
	}
}

// Validate rejects dwell bounds that do not make a rising ramp.
func (w Weights) Validate() error {
	if w.ShortDwell < 0 || w.LongDwell <= w.ShortDwell {
		return fmt.Errorf("offline: weights: need 0 <= ShortDwell < LongDwell, have %v and %v", w.ShortDwell, w.LongDwell)
	}
	return nil
}

// DwellWeight is the weight of a ROOM_LEAVE with dwell d (the same formula
// as the SQL).
func (w Weights) DwellWeight(d time.Duration) float64 {
	if d < w.ShortDwell {
		return w.ShortView
	}
	f := min(1, float64(d-w.ShortDwell)/float64(w.LongDwell-w.ShortDwell))
	return w.View + (w.LongView-w.View)*f
}

func lit(f float64) string { return "toFloat64(" + strconv.FormatFloat(f, 'g', -1, 64) + ")" }

// sql returns the item expression, the event types and the weight
// expression of kind k over the events table's columns.
func (w Weights) sql(k ItemKind) (item string, types []string, weight string) {
	type tw struct {
		typ  string
		expr string
	}
	var ts []tw
	switch k {
	case Products:
		item = "product_id"
		ts = []tw{
			{"product_click", lit(w.ProductClick)}, {"add_to_cart", lit(w.AddToCart)},
			{"order_created", lit(w.OrderCreated)}, {"order_paid", lit(w.OrderPaid)},
			{"order_refunded", lit(w.OrderRefunded)}, {"share", lit(w.ProductShare)},
			{"search_click", lit(w.SearchClick)},
		}
	default:
		item = "if(type = 'share' AND product_id != '', '', merchant_id)" // product shares are not room shares
		short, long := w.ShortDwell.Milliseconds(), w.LongDwell.Milliseconds()
		dwell := fmt.Sprintf("if(value < %d, %s, %s + %s * least(1, (value - %d) / %d))",
			short, lit(w.ShortView), lit(w.View), lit(w.LongView-w.View), short, long-short)
		ts = []tw{
			{"room_enter", lit(w.Enter)}, {"room_leave", dwell}, {"chat", lit(w.Chat)},
			{"like", lit(w.Like)}, {"gift", lit(w.Gift)}, {"share", lit(w.Share)},
			{"follow", lit(w.Follow)}, {"unfollow", lit(w.Unfollow)},
		}
	}
	var b strings.Builder
	b.WriteString("multiIf(")
	for _, t := range ts {
		types = append(types, t.typ)
		fmt.Fprintf(&b, "type = '%s', %s, ", t.typ, t.expr)
	}
	b.WriteString("0)")
	return item, types, b.String()
}
