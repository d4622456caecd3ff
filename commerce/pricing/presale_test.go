package pricing

import (
	"errors"
	"testing"
)

func TestPresaleBalance(t *testing.T) {
	cases := []struct {
		name                             string
		price, deposit, deduction, qty   int64
		wantTotal, wantDiscount, wantPay int64
	}{
		{"付100抵150", 1000, 100, 150, 1, 1000, 150, 850},
		{"two units deduct twice", 1000, 100, 150, 2, 2000, 300, 1700},
		{"deduction equal to the deposit", 500, 100, 100, 1, 500, 100, 400},
		{"deduction equal to the price", 150, 100, 150, 1, 150, 150, 0},
		{"deduction larger than the price clamps at 0", 120, 100, 150, 3, 360, 360, 0},
		{"free item", 0, 1, 1, 1, 0, 0, 0},
		{"huge deduction does not overflow", 100, 1, MaxOrderFen, MaxQuantity, 100 * MaxQuantity, 100 * MaxQuantity, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := PresaleBalance("a", c.price, c.deposit, c.deduction, c.qty)
			if err != nil {
				t.Fatal(err)
			}
			if q.TotalFen != c.wantTotal || q.DiscountFen != c.wantDiscount || q.PayFen != c.wantPay {
				t.Fatalf("total/discount/pay = %d/%d/%d, want %d/%d/%d", q.TotalFen, q.DiscountFen, q.PayFen, c.wantTotal, c.wantDiscount, c.wantPay)
			}
			checkInvariants(t, q)
		})
	}
}

func TestPresaleRejects(t *testing.T) {
	cases := []struct {
		name, field                    string
		price, deposit, deduction, qty int64
	}{
		{"no deposit", "deposit_fen", 1000, 0, 150, 1},
		{"deduction below the deposit", "deduction_fen", 1000, 100, 99, 1},
		{"zero quantity", "lines[0].quantity", 1000, 100, 150, 0},
		{"negative price", "lines[0].unit_fen", -1, 100, 150, 1},
	}
	for _, c := range cases {
		_, err := PresaleBalance("a", c.price, c.deposit, c.deduction, c.qty)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want a %s error", c.name, err, c.field)
		}
	}
	if q, err := PresaleDeposit("a", 100, 3); err != nil || q.PayFen != 300 || q.DiscountFen != 0 {
		t.Errorf("deposit of 3: %+v %v", q, err)
	}
	if _, err := PresaleDeposit("a", 0, 1); err == nil {
		t.Error("a zero deposit priced")
	}
}

// FuzzPresaleBalance checks the balance's invariants: 0 ≤ pay ≤ total, the
// deduction never more than deduction × quantity, the line adding up.
func FuzzPresaleBalance(f *testing.F) {
	f.Add(int64(1000), int64(100), int64(150), int64(1))
	f.Add(int64(120), int64(100), int64(150), int64(3))
	f.Add(MaxOrderFen, int64(1), MaxOrderFen, int64(1))
	f.Fuzz(func(t *testing.T, price, deposit, deduction, qty int64) {
		q, err := PresaleBalance("a", price, deposit, deduction, qty)
		if err != nil {
			return
		}
		checkInvariants(t, q)
		if q.DiscountFen > q.TotalFen || (q.DiscountFen < q.TotalFen && q.DiscountFen != deduction*qty) {
			t.Fatalf("price %d deposit %d deduction %d qty %d: discount %d of %d", price, deposit, deduction, qty, q.DiscountFen, q.TotalFen)
		}
	})
}
