package loop_test

import (
	"fmt"

	"github.com/tide-live/tide/serving/feed/loop"
)

// Wilson intervals and the two-proportion z-test on the counts of two arms.
func ExampleWilson() {
	lo, hi := loop.Wilson(10, 100, loop.Z95)
	fmt.Printf("10/100: [%.4f, %.4f]\n", lo, hi)
	z, p := loop.TwoProportion(50, 1000, 80, 1000)
	fmt.Printf("5%% vs 8%% of 1000: z=%.2f p=%.4f\n", z, p)
	// Output:
	// 10/100: [0.0552, 0.1744]
	// 5% vs 8% of 1000: z=2.72 p=0.0065
}
