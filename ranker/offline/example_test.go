package offline_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/offline"
)

// Evaluate the ranker on a log in the format of `tide eval ranker`: here
// every user cooks two recipes, buying each recipe's four ingredients on
// consecutive days, so "what comes next" is learnable and popularity is not.
func ExampleRun() {
	var tsv strings.Builder
	tsv.WriteString("user_id\titem_id\ttime\n")
	for u := range 300 {
		day := int64(u % 50)
		for _, recipe := range []int{u * 7 % 20, (u*7 + 13) % 20} {
			for step := range 4 {
				day++
				fmt.Fprintf(&tsv, "user%d\trecipe%d-%d\t%d\n", u, recipe, step, day*86400)
			}
		}
	}
	x, err := ranker.ReadTSV(strings.NewReader(tsv.String()))
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := offline.Run(context.Background(), x, offline.Options{Tune: true, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("users=%d items=%d\n", rep.Users, rep.Items)
	fmt.Printf("popularity: test HR@10 %.2f\n", rep.Popularity.Test.HR)
	fmt.Printf("model:      test HR@10 %.2f NDCG@10 %.2f (validation HR@10 %.2f)\n",
		rep.Model.Test.HR, rep.Model.Test.NDCG, rep.Model.Validation.HR)
	// Output:
	// users=300 items=80
	// popularity: test HR@10 0.00
	// model:      test HR@10 1.00 NDCG@10 1.00 (validation HR@10 1.00)
}
