package pricing

import "fmt"

// PresaleDeductionID names the 定金膨胀 deduction in a balance quote's
// Applied list.
const PresaleDeductionID = "presale_deduction"

// PresaleDeposit prices a presale's deposit (定金): the line of the SKU at
// the deposit per unit, nothing off.
func PresaleDeposit(skuID string, depositFen, quantity int64) (Quote, error) {
	if depositFen <= 0 {
		return Quote{}, &FieldError{"deposit_fen", fmt.Sprintf("%d is not positive", depositFen)}
	}
	return Price(Request{Lines: []Line{{SKUID: skuID, UnitFen: depositFen, Quantity: quantity}}})
}

// PresaleBalance prices a presale's balance (尾款): the line of the SKU at
// its presale price, minus the inflated deduction of the deposit paid
// (deductionFen per unit, 定金膨胀 — 付100抵150 deducts 150), never more than
// the line: a deduction larger than the price makes the balance 0, never
// negative, and what the deduction could not use is not paid back.
//
// No coupon or 满减 applies to a presale: the deduction is the presale's
// whole discount (the deposit and the balance are one purchase, and a
// promotion on a balance the deduction may zero would be used for nothing,
// or, forfeited, lost).
func PresaleBalance(skuID string, priceFen, depositFen, deductionFen, quantity int64) (Quote, error) {
	switch {
	case depositFen <= 0:
		return Quote{}, &FieldError{"deposit_fen", fmt.Sprintf("%d is not positive", depositFen)}
	case deductionFen < depositFen:
		return Quote{}, &FieldError{"deduction_fen", fmt.Sprintf("%d is less than the deposit %d", deductionFen, depositFen)}
	case deductionFen > MaxOrderFen:
		return Quote{}, &FieldError{"deduction_fen", fmt.Sprintf("%d is more than %d", deductionFen, MaxOrderFen)}
	}
	q, err := Price(Request{Lines: []Line{{SKUID: skuID, UnitFen: priceFen, Quantity: quantity}}})
	if err != nil {
		return Quote{}, err
	}
	off := q.TotalFen
	if deductionFen <= q.TotalFen/quantity { // deduction × quantity ≤ total, without overflow
		off = deductionFen * quantity
	}
	if off == 0 {
		return q, nil
	}
	l := &q.Lines[0]
	l.DiscountFen, l.PayFen, l.Shares = off, l.TotalFen-off, []int64{off}
	q.DiscountFen, q.PayFen = off, q.TotalFen-off
	q.Applied = []Applied{{PromotionID: PresaleDeductionID, DiscountFen: off}}
	return q, nil
}
