package order

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	ok := []struct {
		m        Machine
		from, to State
	}{
		{Pay, Unpaid, Paid}, {Pay, Unpaid, Closed}, {Pay, Closed, PaidAfterClose},
		{Fulfil, Unshipped, Shipped}, {Fulfil, Shipped, Received},
		{Refund, NoRefund, Requested}, {Refund, Requested, Refunding}, {Refund, Requested, Rejected},
		{Refund, Rejected, Requested}, {Refund, NoRefund, Refunding}, {Refund, Refunding, Refunded},
		{Refund, Refunding, RefundFailed}, {Refund, RefundFailed, Refunding},
	}
	for _, c := range ok {
		if err := Check(c.m, c.from, c.to); err != nil {
			t.Errorf("%s %s→%s: %v", c.m, c.from, c.to, err)
		}
	}
	bad := []struct {
		m        Machine
		from, to State
	}{
		{Pay, Paid, Unpaid},   // no un-paying
		{Pay, Paid, Closed},   // a paid order is refunded, not closed
		{Pay, Closed, Unpaid}, // a closed order stays closed
		{Pay, Unpaid, Unpaid}, // no self loops: a repeated notify is not a transition
		{Fulfil, Unshipped, Received},
		{Fulfil, Shipped, Unshipped},
		{Refund, Refunded, Refunding}, // refunded once
		{Refund, NoRefund, Refunded},
		{Pay, Unpaid, Shipped}, // states of another machine
	}
	for _, c := range bad {
		err := Check(c.m, c.from, c.to)
		var te *TransitionError
		if !errors.As(err, &te) || te.From != c.from || te.To != c.to {
			t.Errorf("%s %s→%s allowed (%v)", c.m, c.from, c.to, err)
		}
	}
}

// Every state named in the table is reachable from its machine's initial
// state, and no state of one machine appears in another's table.
func TestTableIsConnected(t *testing.T) {
	for m, table := range transitions {
		seen := map[State]bool{Initial[m]: true}
		for changed := true; changed; {
			changed = false
			for from, tos := range table {
				if !seen[from] {
					continue
				}
				for _, to := range tos {
					if !seen[to] {
						seen[to], changed = true, true
					}
				}
			}
		}
		for from, tos := range table {
			for _, s := range append([]State{from}, tos...) {
				if !seen[s] {
					t.Errorf("%s: %s unreachable", m, s)
				}
				for other, ot := range transitions {
					if other == m {
						continue
					}
					if _, ok := ot[s]; ok {
						t.Errorf("%s state %s also in %s", m, s, other)
					}
				}
			}
		}
	}
}

func TestGuards(t *testing.T) {
	if !CanShip(Paid, NoRefund) || CanShip(Unpaid, NoRefund) || CanShip(Paid, Refunding) || CanShip(PaidAfterClose, NoRefund) {
		t.Error("CanShip")
	}
	if !CanRequestRefund(Paid, NoRefund) || !CanRequestRefund(Paid, Rejected) || CanRequestRefund(Paid, Requested) || CanRequestRefund(Closed, NoRefund) || CanRequestRefund(Paid, Refunded) {
		t.Error("CanRequestRefund")
	}
}
