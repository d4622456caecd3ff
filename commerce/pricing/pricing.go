// Package pricing prices one merchant's order: line totals, the room's and
// the shop's 满减 tiers, a room or shop 折扣, and at most one coupon (满减
// with a threshold, 折扣 with a cap, or 无门槛), in integer fen.
//
// It is pure — no clock, no storage — so the checkout preview and the order
// submit call the same Price with the same inputs and get the same quote.
//
// Rules:
//   - Promotions apply in a fixed order: room, then shop, then coupon. Each
//     one sees the amount left after the ones before it, so its threshold is
//     tested on that amount and a percentage is taken of that amount:
//     stacked percentages multiply (8折 then 9折 is 72%, never 70%).
//   - At most one promotion per source; at most one coupon per order.
//   - A promotion that is not Stackable applies alone: it is skipped when an
//     earlier one applied, and once it applies, later ones are skipped.
//   - Each discount is allocated to the lines pro rata to what they still
//     cost, rounding down, with the remainder on the last line; no line is
//     ever discounted below zero, so the pay amount is never negative and the
//     lines always add up to the order.
package pricing

import (
	"fmt"
	"time"
)

// MaxOrderFen bounds an order's goods total (¥10 billion), so that no sum or
// product of amounts overflows int64.
const MaxOrderFen int64 = 1_000_000_000_000

// MaxQuantity bounds the quantity of one line.
const MaxQuantity int64 = 100_000

// Line is one SKU in the order at its unit price.
type Line struct {
	SKUID    string
	UnitFen  int64
	Quantity int64
}

// Source says who grants a promotion; it fixes the order they apply in.
type Source int

// Promotion sources, in the order they apply.
const (
	// Room promotions belong to a live room (直播间满减 / 直播间折扣).
	Room Source = iota + 1
	// Shop promotions belong to the merchant's shop (店铺满减).
	Shop
	// Coupon is a coupon the user holds (优惠券).
	Coupon
)

// String names the source.
func (s Source) String() string {
	switch s {
	case Room:
		return "room"
	case Shop:
		return "shop"
	case Coupon:
		return "coupon"
	}
	return fmt.Sprintf("source(%d)", int(s))
}

// Kind is how a promotion computes its discount.
type Kind int

// Promotion kinds.
const (
	// Tiered is 满减: the highest tier whose threshold is reached takes its
	// amount off (满100减10, 满200减30). A threshold of 0 is 无门槛.
	Tiered Kind = iota + 1
	// Percent is 折扣: the buyer pays PayBasisPoints/10000 of the amount
	// (8折 = 8000), the discount capped at CapFen when CapFen > 0, and only
	// from ThresholdFen on.
	Percent
)

// Tier is one 满减 step: at ThresholdFen or more, OffFen off.
type Tier struct {
	ThresholdFen int64
	OffFen       int64
}

// Promotion is a room or shop promotion or a coupon, as the user may use it
// now. The caller loads it; Price decides whether and how much it applies.
type Promotion struct {
	ID     string
	Source Source
	Kind   Kind
	// Tiers of a Tiered promotion; the best one reached applies.
	Tiers []Tier
	// PayBasisPoints of a Percent promotion: 1..9999 (8折 = 8000).
	PayBasisPoints int64
	// CapFen caps a Percent discount; 0 means no cap.
	CapFen int64
	// ThresholdFen is the amount a Percent promotion needs.
	ThresholdFen int64
	// ValidFrom and ValidUntil bound when it applies: [from, until). Zero
	// values are open ends.
	ValidFrom, ValidUntil time.Time
	// PerUserLimit is how many orders of one user may use it; 0 is no limit.
	PerUserLimit int
	// Stackable promotions combine with others; one that is not applies
	// alone.
	Stackable bool
}

// Usage is how many orders the user has already used each promotion in,
// by promotion id.
type Usage map[string]int

// Request is what to price.
type Request struct {
	Lines      []Line
	Promotions []Promotion
	// Usage by this user, for per-user limits.
	Usage Usage
	// At is the time the prices apply (the submit time); validity windows
	// are tested against it.
	At time.Time
}

// LineQuote is a priced line.
type LineQuote struct {
	Line
	TotalFen    int64 // UnitFen × Quantity
	DiscountFen int64 // its share of every discount
	PayFen      int64 // TotalFen − DiscountFen
	// Shares is its share of each applied promotion, in Quote.Applied order
	// (what a partial refund gives back).
	Shares []int64
}

// Applied is a promotion that took money off.
type Applied struct {
	PromotionID string
	Source      Source
	DiscountFen int64
}

// Skipped is a requested promotion that did not apply, and why.
type Skipped struct {
	PromotionID string
	Reason      string
}

// Quote is a priced order. TotalFen = DiscountFen + PayFen, each line's
// amounts add up the same way, and the lines add up to the order.
type Quote struct {
	Lines       []LineQuote
	TotalFen    int64
	DiscountFen int64
	PayFen      int64
	Applied     []Applied
	Skipped     []Skipped
}

// FieldError names the request field that is invalid and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }
