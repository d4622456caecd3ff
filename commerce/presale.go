package commerce

import (
	"errors"
	"fmt"
	"time"
)

// Presale is a 预售 activity on one SKU. In the deposit window
// [DepositStartsAt, DepositEndsAt) a buyer pays DepositFen (定金) per unit,
// which reserves units of the presale's own Allotment (activity stock, apart
// from the SKU's stock), at most PerUserLimit units per buyer. In the
// balance window [BalanceStartsAt, BalanceEndsAt) the buyer pays the
// balance: PriceFen minus DeductionFen (定金膨胀: a deposit of DepositFen
// deducts DeductionFen ≥ DepositFen, e.g. 付100抵150), never below 0.
//
// The rules: a balance not paid by BalanceEndsAt forfeits the deposit (the
// buyer broke the deal; the units go back to the allotment); a presale the
// merchant cancels refunds every paid deposit (and any paid balance). A
// buyer cannot ask for the deposit back on its own.
type Presale struct {
	ID              string
	MerchantID      string
	SKUID           string
	PriceFen        int64
	DepositFen      int64
	DeductionFen    int64
	DepositStartsAt time.Time
	DepositEndsAt   time.Time
	BalanceStartsAt time.Time
	BalanceEndsAt   time.Time
	Allotment       int64
	Remaining       int64
	PerUserLimit    int64
	// Cancelled is set once the merchant cancelled the presale.
	Cancelled bool
}

// Validate checks the presale's fields; the error is a *FieldError naming
// the field.
func (p Presale) Validate() error {
	switch {
	case p.ID == "" || len(p.ID) > 64:
		return &FieldError{"presale.id", "needs 1 to 64 characters"}
	case p.SKUID == "":
		return &FieldError{"presale.sku_id", "is empty"}
	case p.PriceFen < 0:
		return &FieldError{"presale.price_fen", fmt.Sprintf("%d is negative", p.PriceFen)}
	case p.DepositFen <= 0:
		return &FieldError{"presale.deposit_fen", fmt.Sprintf("%d is not positive", p.DepositFen)}
	case p.DepositFen > p.PriceFen:
		return &FieldError{"presale.deposit_fen", fmt.Sprintf("%d is more than the price %d", p.DepositFen, p.PriceFen)}
	case p.DeductionFen < p.DepositFen:
		return &FieldError{"presale.deduction_fen", fmt.Sprintf("%d is less than the deposit %d", p.DeductionFen, p.DepositFen)}
	case p.Allotment <= 0:
		return &FieldError{"presale.allotment", fmt.Sprintf("%d is not positive", p.Allotment)}
	case p.PerUserLimit <= 0:
		return &FieldError{"presale.per_user_limit", fmt.Sprintf("%d is not positive", p.PerUserLimit)}
	case !p.DepositStartsAt.Before(p.DepositEndsAt):
		return &FieldError{"presale.deposit_ends_at", "must be after deposit_starts_at"}
	case p.BalanceStartsAt.Before(p.DepositEndsAt):
		return &FieldError{"presale.balance_starts_at", "must not be before deposit_ends_at"}
	case !p.BalanceStartsAt.Before(p.BalanceEndsAt):
		return &FieldError{"presale.balance_ends_at", "must be after balance_starts_at"}
	}
	return nil
}

// DepositOpen says whether deposits are taken at t, and if not, why.
func (p Presale) DepositOpen(t time.Time) error {
	return window(p.Cancelled, p.DepositStartsAt, p.DepositEndsAt, t)
}

// BalanceOpen says whether balances are taken at t, and if not, why.
func (p Presale) BalanceOpen(t time.Time) error {
	return window(p.Cancelled, p.BalanceStartsAt, p.BalanceEndsAt, t)
}

func window(cancelled bool, from, until, t time.Time) error {
	switch {
	case cancelled:
		return ErrPresaleCancelled
	case t.Before(from):
		return ErrNotStarted
	case !t.Before(until):
		return ErrEnded
	}
	return nil
}

// ErrPresaleCancelled: the merchant cancelled the presale.
var ErrPresaleCancelled = errors.New("presale cancelled")

// PresaleState is where one buyer's presale purchase (an entry: its deposit
// order, then its balance order) is.
type PresaleState string

// Presale entry states.
const (
	// DepositUnpaid: the deposit order holds the units, waiting for payment.
	DepositUnpaid PresaleState = "deposit_unpaid"
	// DepositPaid: the deposit is paid; the balance is due in its window.
	DepositPaid PresaleState = "deposit_paid"
	// PresaleCompleted: the balance is paid; the balance order ships.
	PresaleCompleted PresaleState = "completed"
	// PresaleReleased: the deposit order closed unpaid; units returned.
	PresaleReleased PresaleState = "released"
	// DepositForfeited: the balance window ended unpaid; the deposit is kept
	// and the units returned.
	DepositForfeited PresaleState = "forfeited"
	// PresaleCancelled: the merchant cancelled; paid money is refunded.
	PresaleCancelled PresaleState = "cancelled"
)

var presaleMoves = map[PresaleState][]PresaleState{
	DepositUnpaid:    {DepositPaid, PresaleReleased, PresaleCancelled},
	DepositPaid:      {PresaleCompleted, DepositForfeited, PresaleCancelled},
	PresaleCompleted: {PresaleCancelled},
}

// CheckPresaleMove says whether an entry may move from → to.
func CheckPresaleMove(from, to PresaleState) error {
	for _, s := range presaleMoves[from] {
		if s == to {
			return nil
		}
	}
	return fmt.Errorf("presale entry cannot go from %s to %s: %w", from, to, ErrPresaleState)
}

// ErrPresaleState: the entry is not in a state for this.
var ErrPresaleState = errors.New("presale entry state")

// PresaleEntry is one buyer's purchase in a presale: its deposit order
// (whose id names the entry) and its current balance order, if any.
type PresaleEntry struct {
	DepositOrderID string
	PresaleID      string
	UserID         string
	Quantity       int64
	State          PresaleState
	BalanceOrderID string
}
