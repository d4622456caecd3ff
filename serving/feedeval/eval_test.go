package feedeval

import (
	"context"
	"testing"
)

// TestRun replays a small world through the feeds: every scorer is
// measured on the same enters, the served feed (the trained CTR model)
// beats random and the hand-set weights it replaces, and the exploration
// slice has targets of its own.
func TestRun(t *testing.T) {
	rep, err := Run(context.Background(), Options{Seed: 2, Users: 800, Merchants: 40, Days: 3, ExploreShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d enters, %d pages, %.1f candidates (%.1f live), CTR AUC %.3f", rep.Enters, rep.Requests, rep.Candidates, rep.MeanLive, rep.CTRAUC)
	for _, r := range []Result{rep.Served, rep.Previous, rep.PopFeed, rep.Pop, rep.Random} {
		t.Logf("%-20s all %.4f/%.4f explore %.4f (n=%d) hidden %d", r.Name, r.All.HR, r.All.NDCG, r.Explore.HR, r.Explore.Users, r.Hidden)
		if r.All.Users != rep.Enters {
			t.Errorf("%s evaluated %d enters, want %d", r.Name, r.All.Users, rep.Enters)
		}
	}
	if rep.Enters < 300 || rep.Served.Explore.Users < 30 || rep.Served.New.Users == 0 || rep.Served.Repeat.Users == 0 {
		t.Fatalf("too few targets: %+v", rep.Served)
	}
	if rep.Candidates < 5 || rep.Candidates > rep.MeanLive+0.01 {
		t.Errorf("candidates %.2f, live %.2f", rep.Candidates, rep.MeanLive)
	}
	if rep.Served.All.HR <= rep.Random.All.HR || rep.Served.All.HR <= rep.Previous.All.HR {
		t.Errorf("served HR@10 %.4f, random %.4f, previous %.4f", rep.Served.All.HR, rep.Random.All.HR, rep.Previous.All.HR)
	}
	if rep.Served.Hidden != 0 {
		t.Errorf("the served feed hid %d entered rooms", rep.Served.Hidden)
	}
}
