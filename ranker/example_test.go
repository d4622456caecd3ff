package ranker_test

import (
	"context"
	"fmt"

	"github.com/tide-live/tide/ranker"
)

// Train on a tiny log, publish the model through a Store and ask it what
// a shopper who just bought flour and eggs buys next.
func ExampleModel_Recommend() {
	x := ranker.NewInteractions()
	day := int64(86400)
	for u := range 20 {
		user := fmt.Sprint("shopper", u)
		x.Add(user, "flour", 1*day, 1)
		x.Add(user, "eggs", 2*day, 1)
		x.Add(user, "sugar", 3*day, 1)
		if u%2 == 0 {
			x.Add(user, "tea", 4*day, 1)
		}
	}
	cfg := ranker.DefaultConfig()
	cfg.MF.Factors = 4
	m, err := ranker.Train(context.Background(), x, cfg, ranker.WithVersion("example"))
	if err != nil {
		fmt.Println(err)
		return
	}
	store := ranker.NewStore(m)

	model := store.Model()
	flour, _ := model.Item("flour")
	eggs, _ := model.Item("eggs")
	h := ranker.History{{Item: flour, Time: 10 * day}, {Item: eggs, Time: 11 * day}}
	for _, s := range model.Recommend(context.Background(), h, 2, nil) {
		fmt.Println(model.ItemName(s.Item))
	}
	// Output:
	// sugar
	// tea
}
