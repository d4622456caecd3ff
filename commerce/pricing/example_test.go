package pricing_test

import (
	"fmt"
	"time"

	"github.com/tide-live/tide/commerce/pricing"
)

// A room's 满200减30 and an 8折 coupon capped at ¥20 on two lines.
func ExamplePrice() {
	q, err := pricing.Price(pricing.Request{
		Lines: []pricing.Line{
			{SKUID: "tee-red-m", UnitFen: 9900, Quantity: 2},
			{SKUID: "cap-black", UnitFen: 4900, Quantity: 1},
		},
		Promotions: []pricing.Promotion{
			{ID: "room-200-30", Source: pricing.Room, Kind: pricing.Tiered, Tiers: []pricing.Tier{{ThresholdFen: 20000, OffFen: 3000}}, Stackable: true},
			{ID: "coupon-8zhe", Source: pricing.Coupon, Kind: pricing.Percent, PayBasisPoints: 8000, CapFen: 2000, Stackable: true},
		},
		At: time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("total", q.TotalFen, "discount", q.DiscountFen, "pay", q.PayFen)
	for _, l := range q.Lines {
		fmt.Println(l.SKUID, l.TotalFen, l.Shares, l.PayFen)
	}
	// Output:
	// total 24700 discount 5000 pay 19700
	// tee-red-m 19800 [2404 1603] 15793
	// cap-black 4900 [596 397] 3907
}
