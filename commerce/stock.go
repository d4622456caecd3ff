package commerce

import (
	"errors"
	"time"
)

// Stock errors. Stores wrap them; callers test with errors.Is.
var (
	// ErrOutOfStock: a SKU has fewer units for sale than asked for.
	ErrOutOfStock = errors.New("out of stock")
	// ErrSoldOut: a flash sale's allotment is gone.
	ErrSoldOut = errors.New("sold out")
	// ErrLimitReached: the user already holds or bought the flash sale's
	// per-user limit.
	ErrLimitReached = errors.New("per-user limit reached")
	// ErrNotStarted: the flash sale has not started yet.
	ErrNotStarted = errors.New("not started")
	// ErrEnded: the flash sale is over.
	ErrEnded = errors.New("ended")
	// ErrAlreadyHeld: the order already holds units of that SKU.
	ErrAlreadyHeld = errors.New("order already holds this sku")
	// ErrAlreadyPaid: the payment provider says a payment attempt was paid
	// (so it cannot be closed).
	ErrAlreadyPaid = errors.New("payment already made")
)

// FlashSale is a 秒杀 activity: from StartsAt until EndsAt one SKU sells at
// PriceFen out of an allotment of its own (taken out of the SKU's stock when
// the sale is created), at most PerUserLimit units per user.
type FlashSale struct {
	ID           string
	MerchantID   string
	SKUID        string
	PriceFen     int64
	StartsAt     time.Time
	EndsAt       time.Time
	Allotment    int64
	Remaining    int64
	PerUserLimit int64
}

// Open says whether the sale takes orders at t, and if not, why.
func (f FlashSale) Open(t time.Time) error {
	switch {
	case t.Before(f.StartsAt):
		return ErrNotStarted
	case !t.Before(f.EndsAt):
		return ErrEnded
	}
	return nil
}

// Hold is one order's claim on units of a SKU, from its stock or from a
// flash sale's allotment (FlashSaleID set).
type Hold struct {
	OrderID     string
	UserID      string
	SKUID       string
	FlashSaleID string
	Quantity    int64
}

// HoldState is where a hold is: held until the order is paid (sold) or
// cancelled or timed out (released).
type HoldState string

// Hold states.
const (
	Held     HoldState = "held"
	Sold     HoldState = "sold"
	Released HoldState = "released"
)

// GroupBuy is a 拼团 activity: from StartsAt until EndsAt, one SKU sells at
// PriceFen to groups of GroupSize buyers; a group has Window from its
// opening to fill with paid members, else it fails and its members are
// refunded.
type GroupBuy struct {
	ID         string
	MerchantID string
	SKUID      string
	PriceFen   int64
	GroupSize  int
	Window     time.Duration
	StartsAt   time.Time
	EndsAt     time.Time
}

// Group-buy errors.
var (
	// ErrGroupFull: the group has its members.
	ErrGroupFull = errors.New("group is full")
	// ErrGroupClosed: the group succeeded, failed or expired.
	ErrGroupClosed = errors.New("group is no longer open")
)
