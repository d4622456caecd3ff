// Package order holds the business order's domain: its three separate state
// machines — payment, fulfilment and refund — with every allowed transition
// in one table, and the order and its lines as the checkout stores them.
//
// It is pure: stores (commerce/postgres) record each transition as a row and
// call Check before they write one.
package order

import "fmt"

// Machine names one of an order's state machines.
type Machine string

// The machines.
const (
	Pay    Machine = "pay"
	Fulfil Machine = "fulfil"
	Refund Machine = "refund"
)

// State is a state of one machine.
type State string

// Payment states.
const (
	// Unpaid: submitted, stock held, waiting for the payment notify.
	Unpaid State = "unpaid"
	// Paid: a verified notify (or query) said the money arrived.
	Paid State = "paid"
	// Closed: cancelled or timed out before payment; stock released.
	Closed State = "closed"
	// PaidAfterClose: money arrived for an order already closed (its stock
	// may be sold to someone else); it is refunded automatically.
	PaidAfterClose State = "paid_after_close"
)

// Fulfilment states.
const (
	// Unshipped: paid orders wait here for the merchant.
	Unshipped State = "unshipped"
	// Shipped: the merchant gave a tracking number.
	Shipped State = "shipped"
	// Received: the buyer (or the auto-confirm) took delivery.
	Received State = "received"
)

// Refund states.
const (
	// NoRefund: nothing asked.
	NoRefund State = "none"
	// Requested: the buyer asked; the merchant decides.
	Requested State = "requested"
	// Rejected: the merchant said no (the buyer may ask again).
	Rejected State = "rejected"
	// Refunding: a refund was sent to WeChat Pay and awaits its notify.
	Refunding State = "refunding"
	// Refunded: WeChat Pay reported the refund done.
	Refunded State = "refunded"
	// RefundFailed: WeChat Pay reported the refund abnormal or closed; it
	// may be retried.
	RefundFailed State = "failed"
)

// Initial is where each machine starts.
var Initial = map[Machine]State{Pay: Unpaid, Fulfil: Unshipped, Refund: NoRefund}

// transitions is the one table of allowed moves, per machine: from → to.
var transitions = map[Machine]map[State][]State{
	Pay: {
		Unpaid: {Paid, Closed},
		Closed: {PaidAfterClose},
	},
	Fulfil: {
		Unshipped: {Shipped},
		Shipped:   {Received},
	},
	Refund: {
		NoRefund:     {Requested, Refunding},
		Requested:    {Rejected, Refunding},
		Rejected:     {Requested},
		Refunding:    {Refunded, RefundFailed},
		RefundFailed: {Refunding},
	},
}

// Transition is one move of one machine, as stores record it.
type Transition struct {
	Machine Machine
	From    State
	To      State
	Reason  string
}

// TransitionError says a move is not allowed.
type TransitionError struct {
	Machine  Machine
	From, To State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("order %s state cannot go from %s to %s", e.Machine, e.From, e.To)
}

// Check reports whether m may move from → to; the error is a
// *TransitionError.
func Check(m Machine, from, to State) error {
	for _, s := range transitions[m][from] {
		if s == to {
			return nil
		}
	}
	return &TransitionError{m, from, to}
}

// Move checks the move and returns it as a Transition to record.
func Move(m Machine, from, to State, reason string) (Transition, error) {
	if err := Check(m, from, to); err != nil {
		return Transition{}, err
	}
	return Transition{Machine: m, From: from, To: to, Reason: reason}, nil
}

// Guards across machines: which moves need which state of another machine.

// CanShip says whether the merchant may ship: paid and not being refunded.
func CanShip(pay, refund State) bool {
	return pay == Paid && (refund == NoRefund || refund == Rejected)
}

// CanRequestRefund says whether the buyer may ask for a refund: the order
// is paid and no refund is under way or done.
func CanRequestRefund(pay, refund State) bool {
	return pay == Paid && (refund == NoRefund || refund == Rejected || refund == RefundFailed)
}
