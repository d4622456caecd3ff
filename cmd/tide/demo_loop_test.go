package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/serving/experiment"
	"github.com/tide-live/tide/serving/feed"
)

// TestDemoExperiment checks the closed loop's embedded experiment: two arms
// at 50/50, popularity against personalised, on the room feed, accepted by
// the feed, and splitting users about evenly.
func TestDemoExperiment(t *testing.T) {
	cfg, err := experiment.Parse(strings.NewReader(demoExperiment))
	if err != nil {
		t.Fatal(err)
	}
	a, err := experiment.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feed.New(features.NewStore(), feed.WithExperiments(a, nil)); err != nil {
		t.Fatalf("the feed rejects the demo experiment: %v", err)
	}
	arms := map[string]int{}
	for i := range 2000 {
		as := a.Assign(fmt.Sprintf("u%05d", i+1), feed.SurfaceRooms, nil)
		rk, _ := experiment.Param(as, feed.ParamRanker)
		arms[experiment.Map(as)["room_ranker"]+"/"+rk]++
	}
	if len(arms) != 2 || arms["control/popularity"] < 900 || arms["personalised/personalised"] < 900 {
		t.Fatalf("arms of 2000 users: %v, want about 1000 each of control/popularity and personalised/personalised", arms)
	}
}
