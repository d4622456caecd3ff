package pricing

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func line(id string, unit, qty int64) Line { return Line{SKUID: id, UnitFen: unit, Quantity: qty} }

func tiered(id string, src Source, stack bool, tiers ...Tier) Promotion {
	return Promotion{ID: id, Source: src, Kind: Tiered, Tiers: tiers, Stackable: stack}
}

func percent(id string, src Source, bp, capFen int64) Promotion {
	return Promotion{ID: id, Source: src, Kind: Percent, PayBasisPoints: bp, CapFen: capFen, Stackable: true}
}

func TestPrice(t *testing.T) {
	tests := []struct {
		name      string
		req       Request
		pay       int64
		linesPay  []int64
		applied   []string
		skippedBy []string // ids skipped, in order
	}{
		{
			name:     "no promotion: quantity counts",
			req:      Request{Lines: []Line{line("a", 1990, 3), line("b", 500, 1)}},
			pay:      6470,
			linesPay: []int64{5970, 500},
		},
		{
			// macrozheng/mall#356: 10/30×10 split as 3.33 each lost a cent.
			name:     "lost cents: the remainder lands on the last line",
			req:      Request{Lines: []Line{line("a", 1000, 1), line("b", 1000, 1), line("c", 1000, 1)}, Promotions: []Promotion{tiered("c10", Coupon, true, Tier{0, 1000})}},
			pay:      2000,
			linesPay: []int64{667, 667, 666},
			applied:  []string{"c10"},
		},
		{
			// macrozheng/mall#567: the split ignored quantity.
			name:     "pro rata by line total, not unit price",
			req:      Request{Lines: []Line{line("a", 1000, 3), line("b", 1000, 1)}, Promotions: []Promotion{tiered("c4", Coupon, true, Tier{0, 400})}},
			pay:      3600,
			linesPay: []int64{2700, 900},
			applied:  []string{"c4"},
		},
		{
			// macrozheng/mall#492: 满5减1 came out as 0.98 off.
			name:     "满5减1 is exactly 1 yuan off",
			req:      Request{Lines: []Line{line("a", 250, 2)}, Promotions: []Promotion{tiered("m5", Shop, true, Tier{500, 100})}},
			pay:      400,
			linesPay: []int64{400},
			applied:  []string{"m5"},
		},
		{
			// macrozheng/mall#1002: an uncapped deduction made pay negative.
			name:     "a coupon larger than the order pays zero, never negative",
			req:      Request{Lines: []Line{line("a", 1200, 1), line("b", 1800, 1)}, Promotions: []Promotion{tiered("big", Coupon, true, Tier{0, 5000})}},
			pay:      0,
			linesPay: []int64{0, 0},
			applied:  []string{"big"},
		},
		{
			// cedar2025/Xboard#259: two percentages were added (50%+30% off).
			name:     "stacked percentages multiply",
			req:      Request{Lines: []Line{line("a", 7680, 1)}, Promotions: []Promotion{percent("room5", Room, 5000, 0), percent("c7", Coupon, 7000, 0)}},
			pay:      2688,
			linesPay: []int64{2688},
			applied:  []string{"room5", "c7"},
		},
		{
			name:     "percentage rounds in the merchant's favour by under a fen",
			req:      Request{Lines: []Line{line("a", 999, 1)}, Promotions: []Promotion{percent("c85", Coupon, 8500, 0)}},
			pay:      850, // 849.15 → the discount 149.85 rounds down to 149
			linesPay: []int64{850},
			applied:  []string{"c85"},
		},
		{
			name:     "percentage cap",
			req:      Request{Lines: []Line{line("a", 100000, 1)}, Promotions: []Promotion{percent("c8cap", Coupon, 8000, 5000)}},
			pay:      95000,
			linesPay: []int64{95000},
			applied:  []string{"c8cap"},
		},
		{
			name:     "best tier reached applies",
			req:      Request{Lines: []Line{line("a", 25000, 1)}, Promotions: []Promotion{tiered("room", Room, true, Tier{10000, 1000}, Tier{20000, 3000}, Tier{30000, 5000})}},
			pay:      22000,
			linesPay: []int64{22000},
			applied:  []string{"room"},
		},
		{
			name: "room then shop then coupon; a threshold sees the amount after earlier discounts",
			req: Request{Lines: []Line{line("a", 10500, 1)}, Promotions: []Promotion{
				tiered("coupon100-10", Coupon, true, Tier{10000, 1000}), // 10500-1000=9500 < 10000 → skipped
				tiered("room", Room, true, Tier{10000, 1000}),
			}},
			pay:       9500,
			linesPay:  []int64{9500},
			applied:   []string{"room"},
			skippedBy: []string{"coupon100-10"},
		},
		{
			name: "a non-stackable coupon is skipped after a room discount",
			req: Request{Lines: []Line{line("a", 10000, 1)}, Promotions: []Promotion{
				tiered("room", Room, true, Tier{0, 500}),
				tiered("solo", Coupon, false, Tier{0, 2000}),
			}},
			pay:       9500,
			linesPay:  []int64{9500},
			applied:   []string{"room"},
			skippedBy: []string{"solo"},
		},
		{
			name: "a non-stackable room promotion shuts out the rest",
			req: Request{Lines: []Line{line("a", 10000, 1)}, Promotions: []Promotion{
				tiered("solo-room", Room, false, Tier{0, 500}),
				tiered("shop", Shop, true, Tier{0, 300}),
				tiered("c", Coupon, true, Tier{0, 100}),
			}},
			pay:       9500,
			linesPay:  []int64{9500},
			applied:   []string{"solo-room"},
			skippedBy: []string{"shop", "c"},
		},
		{
			name: "validity windows and per-user limits",
			req: Request{
				Lines: []Line{line("a", 10000, 1)},
				Promotions: []Promotion{
					{ID: "later", Source: Room, Kind: Tiered, Tiers: []Tier{{0, 100}}, Stackable: true, ValidFrom: now.Add(time.Minute)},
					{ID: "over", Source: Shop, Kind: Tiered, Tiers: []Tier{{0, 100}}, Stackable: true, ValidUntil: now},
					{ID: "used", Source: Coupon, Kind: Tiered, Tiers: []Tier{{0, 100}}, Stackable: true, PerUserLimit: 1},
				},
				Usage: Usage{"used": 1},
			},
			pay:       10000,
			linesPay:  []int64{10000},
			skippedBy: []string{"later", "over", "used"},
		},
		{
			name: "inside the window and under the limit",
			req: Request{
				Lines:      []Line{line("a", 10000, 1)},
				Promotions: []Promotion{{ID: "ok", Source: Coupon, Kind: Tiered, Tiers: []Tier{{0, 100}}, Stackable: true, PerUserLimit: 2, ValidFrom: now, ValidUntil: now.Add(time.Second)}},
				Usage:      Usage{"ok": 1},
			},
			pay:      9900,
			linesPay: []int64{9900},
			applied:  []string{"ok"},
		},
		{
			name:     "a free gift line last never goes negative",
			req:      Request{Lines: []Line{line("a", 3, 1), line("b", 3, 1), line("gift", 0, 1)}, Promotions: []Promotion{tiered("c", Coupon, true, Tier{0, 5})}},
			pay:      1,
			linesPay: []int64{1, 0, 0},
			applied:  []string{"c"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.At = now
			q, err := Price(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, q)
			if q.PayFen != tc.pay {
				t.Errorf("pay = %d, want %d", q.PayFen, tc.pay)
			}
			var got []int64
			for _, l := range q.Lines {
				got = append(got, l.PayFen)
			}
			if !slices.Equal(got, tc.linesPay) {
				t.Errorf("line pay = %v, want %v", got, tc.linesPay)
			}
			var applied, skipped []string
			for _, a := range q.Applied {
				applied = append(applied, a.PromotionID)
			}
			for _, s := range q.Skipped {
				if s.Reason == "" {
					t.Errorf("%s skipped without a reason", s.PromotionID)
				}
				skipped = append(skipped, s.PromotionID)
			}
			if !slices.Equal(applied, tc.applied) {
				t.Errorf("applied = %v, want %v", applied, tc.applied)
			}
			if !slices.Equal(skipped, tc.skippedBy) {
				t.Errorf("skipped = %v (%+v), want %v", skipped, q.Skipped, tc.skippedBy)
			}
		})
	}
}

func TestPriceRejects(t *testing.T) {
	tests := []struct {
		name  string
		req   Request
		field string
	}{
		{"no lines", Request{}, "lines"},
		{"zero quantity", Request{Lines: []Line{line("a", 100, 0)}}, "lines[0].quantity"},
		{"negative price", Request{Lines: []Line{line("a", -1, 1)}}, "lines[0].unit_fen"},
		{"no sku", Request{Lines: []Line{line("", 1, 1)}}, "lines[0].sku_id"},
		{"total overflows", Request{Lines: []Line{line("a", MaxOrderFen, 1), line("b", 1, 1)}}, "lines"},
		{"two coupons", Request{Lines: []Line{line("a", 100, 1)}, Promotions: []Promotion{tiered("x", Coupon, true, Tier{0, 1}), tiered("y", Coupon, true, Tier{0, 1})}}, "promotions[1]"},
		{"percent out of range", Request{Lines: []Line{line("a", 100, 1)}, Promotions: []Promotion{percent("x", Room, 10000, 0)}}, "promotions[0].pay_basis_points"},
		{"tier off zero", Request{Lines: []Line{line("a", 100, 1)}, Promotions: []Promotion{tiered("x", Room, true, Tier{0, 0})}}, "promotions[0].tiers[0]"},
		{"unknown kind", Request{Lines: []Line{line("a", 100, 1)}, Promotions: []Promotion{{ID: "x", Source: Room}}}, "promotions[0].kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Price(tc.req)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError", err)
			}
			if fe.Field != tc.field {
				t.Errorf("field = %q, want %q (%v)", fe.Field, tc.field, err)
			}
		})
	}
}

// checkInvariants fails t unless 0 ≤ pay ≤ total, lines add up to the
// order, no line is discounted below zero and shares add up to each
// applied discount.
func checkInvariants(t testing.TB, q Quote) {
	t.Helper()
	if q.PayFen < 0 || q.PayFen > q.TotalFen || q.DiscountFen+q.PayFen != q.TotalFen {
		t.Fatalf("order: total %d discount %d pay %d", q.TotalFen, q.DiscountFen, q.PayFen)
	}
	var total, disc, pay int64
	perPromo := make([]int64, len(q.Applied))
	for i, l := range q.Lines {
		if l.PayFen < 0 || l.DiscountFen < 0 || l.PayFen+l.DiscountFen != l.TotalFen || l.TotalFen != l.UnitFen*l.Quantity {
			t.Fatalf("line %d: %+v", i, l)
		}
		if len(l.Shares) != len(q.Applied) {
			t.Fatalf("line %d has %d shares for %d promotions", i, len(l.Shares), len(q.Applied))
		}
		var s int64
		for j, sh := range l.Shares {
			if sh < 0 {
				t.Fatalf("line %d share %d negative", i, j)
			}
			s += sh
			perPromo[j] += sh
		}
		if s != l.DiscountFen {
			t.Fatalf("line %d shares %v sum to %d, discount %d", i, l.Shares, s, l.DiscountFen)
		}
		total += l.TotalFen
		disc += l.DiscountFen
		pay += l.PayFen
	}
	if total != q.TotalFen || disc != q.DiscountFen || pay != q.PayFen {
		t.Fatalf("lines sum to %d/%d/%d, order %d/%d/%d", total, disc, pay, q.TotalFen, q.DiscountFen, q.PayFen)
	}
	for j, a := range q.Applied {
		if a.DiscountFen <= 0 || perPromo[j] != a.DiscountFen {
			t.Fatalf("promotion %s: discount %d, shares sum %d", a.PromotionID, a.DiscountFen, perPromo[j])
		}
	}
}
