package pricing

import (
	"encoding/binary"
	"testing"
)

// FuzzPrice prices orders built from arbitrary bytes and checks that every
// valid one keeps the invariants: 0 ≤ pay ≤ total, lines add up to the
// order, shares add up to each discount, and no line goes below zero.
func FuzzPrice(f *testing.F) {
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 3, 232, 1, 7, 0, 0, 0, 10, 0, 0, 1, 244})
	f.Add([]byte("\x05lines with a coupon bigger than the order and two percentages"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, ok := requestFrom(data)
		if !ok {
			return
		}
		q, err := Price(req)
		if err != nil {
			return // invalid input is refused, not priced
		}
		checkInvariants(t, q)
		again, err := Price(req)
		if err != nil || again.PayFen != q.PayFen {
			t.Fatalf("pricing the same request twice: %d then %d (%v)", q.PayFen, again.PayFen, err)
		}
	})
}

// requestFrom decodes up to 8 lines and one promotion per source.
func requestFrom(data []byte) (Request, bool) {
	next := func(n int) (uint64, bool) {
		if len(data) < n {
			return 0, false
		}
		var b [8]byte
		copy(b[8-n:], data[:n])
		data = data[n:]
		return binary.BigEndian.Uint64(b[:]), true
	}
	nl, ok := next(1)
	if !ok {
		return Request{}, false
	}
	req := Request{At: now}
	for i := range int(nl%8) + 1 {
		unit, ok1 := next(4)
		qty, ok2 := next(1)
		if !ok1 || !ok2 {
			break
		}
		req.Lines = append(req.Lines, Line{SKUID: string(rune('a' + i)), UnitFen: int64(unit % 10_000_000), Quantity: int64(qty%20) + 1})
	}
	if len(req.Lines) == 0 {
		return Request{}, false
	}
	for src := Room; src <= Coupon; src++ {
		kind, ok := next(1)
		if !ok {
			break
		}
		a, ok1 := next(4)
		b, ok2 := next(4)
		if !ok1 || !ok2 {
			break
		}
		p := Promotion{ID: src.String(), Source: src, Stackable: kind&4 == 0}
		switch kind % 3 {
		case 0:
			continue
		case 1:
			p.Kind = Tiered
			p.Tiers = []Tier{{int64(a % 100_000_000), int64(b%100_000_000) + 1}, {int64(a % 1_000_000), int64(b%1_000_000) + 1}}
		case 2:
			p.Kind = Percent
			p.PayBasisPoints = int64(a%9999) + 1
			p.CapFen = int64(b % 1_000_000)
			p.ThresholdFen = int64(b % 50_000)
		}
		req.Promotions = append(req.Promotions, p)
	}
	return req, true
}
