package fraudeval

import (
	"context"
	"testing"
)

// TestTarget runs the evaluation on the report seed and checks the target of
// issue 9: precision and recall at least 0.9, no legitimate heavy user
// flagged.
func TestTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a day")
	}
	r, err := Run(context.Background(), Defaults())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events, %d attackers, %d flagged accounts (%d normal), rules %+v, roles %+v, %s",
		r.Events, r.Attackers, r.Flagged, r.NormalFlagged, r.Rules, r.Roles, r)
	for _, f := range r.FlaggedExamples {
		t.Logf("legitimate account flagged: %+v", f)
	}
	if r.HeavyFlagged != 0 {
		t.Errorf("%d legitimate heavy users flagged", r.HeavyFlagged)
	}
	if r.Precision < 0.9 || r.Recall < 0.9 {
		t.Errorf("precision %.4f recall %.4f, want both >= 0.9", r.Precision, r.Recall)
	}
	if r.Attackers == 0 || r.Events < 100_000 {
		t.Errorf("a run of %d events with %d attackers is no test", r.Events, r.Attackers)
	}
}
