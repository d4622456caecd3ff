package experiment_test

import (
	"fmt"
	"strings"

	"github.com/tide-live/tide/serving/experiment"
)

// A 50/50 test of the room ranker: every user lands in one arm, always the
// same one, and the arm's params switch the ranker.
func Example() {
	cfg, err := experiment.Parse(strings.NewReader(`{"layers": [{"name": "ranking", "experiments": [
	  {"name": "room_ranker", "share": 1, "surfaces": ["rooms"], "arms": [
	    {"name": "control", "weight": 1, "params": {"ranker": "popularity"}},
	    {"name": "treatment", "weight": 1, "params": {"ranker": "personalised"}}]}]}]}`))
	if err != nil {
		panic(err)
	}
	a, err := experiment.New(cfg)
	if err != nil {
		panic(err)
	}
	for _, user := range []string{"u1", "u2", "u3", "u1"} {
		as := a.Assign(user, "rooms", nil)
		ranker, _ := experiment.Param(as, "ranker")
		fmt.Println(user, experiment.Map(as), ranker)
	}
	fmt.Println(len(a.Assign("u1", "products", nil)), "experiments on the products surface")
	// Output:
	// u1 map[room_ranker:control] popularity
	// u2 map[room_ranker:control] popularity
	// u3 map[room_ranker:treatment] personalised
	// u1 map[room_ranker:control] popularity
	// 0 experiments on the products surface
}
