package live_test

import (
	"context"
	"testing"

	"github.com/tide-live/tide/ranker/live"
)

// TestRunBeatsPopularity runs the evaluation on a small world: the model
// must rank the entered room better than popularity among the live rooms,
// and the CTR model must separate enters from non-enters out of time.
func TestRunBeatsPopularity(t *testing.T) {
	rep, err := live.Run(context.Background(), live.Options{Seed: 7, Users: 1500, Merchants: 60, Days: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events, %d enters, %.1f live rooms per request, CTR AUC %.4f (held-out %.4f), beta %.2g",
		rep.Events, rep.Enters, rep.MeanLive, rep.CTRAUC, rep.CTR.Metrics.TestAUC, rep.Beta)
	for _, r := range []live.Result{rep.Pop, rep.Heat, rep.CF, rep.CTROnly, rep.Blend} {
		t.Logf("%-16s all %v  new %v  repeat %v", r.Name, r.All, r.New, r.Repeat)
	}
	if rep.Enters < 1000 {
		t.Fatalf("only %d enters evaluated", rep.Enters)
	}
	if rep.Blend.All.HR <= rep.Pop.All.HR || rep.Blend.All.NDCG <= rep.Pop.All.NDCG {
		t.Errorf("blend %v does not beat popularity among live rooms %v", rep.Blend.All, rep.Pop.All)
	}
	if rep.Blend.Repeat.HR <= rep.Pop.Repeat.HR {
		t.Errorf("repeat targets: blend %v, popularity %v", rep.Blend.Repeat, rep.Pop.Repeat)
	}
	if rep.CTRAUC < 0.65 {
		t.Errorf("CTR AUC on the evaluation day %.4f, want >= 0.65", rep.CTRAUC)
	}
	if rep.Blend.New.Users+rep.Blend.Repeat.Users != rep.Enters {
		t.Errorf("new %d + repeat %d != %d enters", rep.Blend.New.Users, rep.Blend.Repeat.Users, rep.Enters)
	}
}
