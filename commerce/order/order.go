package order

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// DefaultPaymentTimeout is how long an unpaid order holds its stock.
const DefaultPaymentTimeout = 15 * time.Minute

// Line is one priced SKU of an order.
type Line struct {
	ProductID   string
	SKUID       string
	UnitFen     int64
	Quantity    int64
	TotalFen    int64
	DiscountFen int64
	PayFen      int64
}

// Order is one business order: one merchant, one buyer, priced lines, and
// the three machines' states. Payments are attempts of their own (one
// order, many out_trade_no).
type Order struct {
	ID             string
	UserID         string
	MerchantID     string
	RoomID         string
	IdempotencyKey string
	FlashSaleID    string
	Lines          []Line
	// Promotions are the ids of the promotions the price applied (their
	// per-user limits count this order until it is closed).
	Promotions  []string
	TotalFen    int64
	DiscountFen int64
	PayFen      int64
	Pay         State
	Fulfil      State
	Refund      State
	TrackingNo  string
	// ExpiresAt is when an unpaid order is closed and its stock released.
	ExpiresAt time.Time
	CreatedAt time.Time
	PaidAt    time.Time
}

// ID is the order id of the submit with the client's idempotency key by
// user: the same key of the same user names the same order, so a repeated
// submit finds the order the first one made.
func ID(userID, idempotencyKey string) string {
	h := sha256.Sum256([]byte(userID + "\x00" + idempotencyKey))
	return "o" + hex.EncodeToString(h[:12])
}
