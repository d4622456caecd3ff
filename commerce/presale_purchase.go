package commerce

import (
	"fmt"
	"time"

	"github.com/tide-live/tide/commerce/pricing"
)

// PresalePurchase is what a buyer sees of one presale purchase: the entry,
// its presale (the windows), what the deposit and the balance cost, which
// of them is paid, and what is still to pay.
type PresalePurchase struct {
	Entry   PresaleEntry
	Presale Presale
	// DepositFen is the deposit of the whole entry (its deposit order).
	DepositFen  int64
	DepositPaid bool
	// BalanceFen is the balance of the whole entry: the presale price of
	// its units less the 定金膨胀 deduction, never below 0.
	BalanceFen  int64
	BalancePaid bool
	// DueFen is what the buyer still has to pay for the purchase: the
	// unpaid deposit and balance of an entry still going; 0 once it is
	// completed, released, forfeited or cancelled.
	DueFen int64
	// CreatedAt is when the deposit was submitted.
	CreatedAt time.Time
}

// NewPresalePurchase prices entry e of presale p: depositFen is its deposit
// order's amount, depositPaid and balancePaid whether its deposit order and
// its current balance order are paid.
func NewPresalePurchase(p Presale, e PresaleEntry, depositFen int64, depositPaid, balancePaid bool) (PresalePurchase, error) {
	q, err := pricing.PresaleBalance(p.SKUID, p.PriceFen, p.DepositFen, p.DeductionFen, e.Quantity)
	if err != nil {
		return PresalePurchase{}, fmt.Errorf("presale %s balance of %s: %w", p.ID, e.DepositOrderID, err)
	}
	pp := PresalePurchase{Entry: e, Presale: p, DepositFen: depositFen, DepositPaid: depositPaid, BalanceFen: q.PayFen, BalancePaid: balancePaid}
	switch e.State {
	case DepositUnpaid:
		pp.DueFen = depositFen + q.PayFen
	case DepositPaid:
		pp.DueFen = q.PayFen
	}
	return pp, nil
}
