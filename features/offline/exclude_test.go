package offline_test

import (
	"context"
	"testing"
	"time"

	"github.com/tide-live/tide/features/eventstest"
	"github.com/tide-live/tide/features/fraud"
	"github.com/tide-live/tide/features/fraud/fraudch"
	"github.com/tide-live/tide/features/offline"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// TestExcludeFlagged leaves the interactions of a flagged account and of a
// flagged device out of the extraction, reading the real fraud_flags table.
func TestExcludeFlagged(t *testing.T) {
	conn, db := eventstest.Open(t)
	var s seed
	T := tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK
	s.add(T, 0, "u1", "d1", "m1", "", "p1", 0)
	s.add(T, time.Minute, "bot", "d2", "m1", "", "p1", 0)
	s.add(T, 2*time.Minute, "farm1", "farmdev", "m1", "", "p2", 0)
	s.add(T, 3*time.Minute, "u3", "d3", "m1", "", "p2", 0)
	eventstest.Insert(t, conn, db, s.es)
	w, err := fraudch.NewWriter(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(context.Background(), []fraud.Flag{
		{Kind: fraud.KindUser, ID: "bot", Rule: fraud.RuleViewBot, Reason: "test", At: t0},
		{Kind: fraud.KindDevice, ID: "farmdev", Rule: fraud.RuleDeviceAccounts, Reason: "test", At: t0},
		{Kind: fraud.KindUser, ID: "bot", Rule: fraud.RuleViewBot, Reason: "again", At: t0.Add(time.Second)},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		exclude bool
		want    map[string]bool
	}{
		{false, map[string]bool{"u1": true, "bot": true, "farm1": true, "u3": true}},
		{true, map[string]bool{"u1": true, "u3": true}},
	} {
		opts := []offline.Option{offline.WithTable(db, "events"), offline.WithMinimum(1, 1, 1)}
		if tc.exclude {
			opts = append(opts, offline.WithExclude(fraudch.ExcludePredicate(db)))
		}
		rows, _ := collect(t, offline.New(conn, opts...), q(offline.Products))
		got := map[string]bool{}
		for _, r := range rows {
			got[r.user] = true
		}
		if len(got) != len(tc.want) {
			t.Errorf("exclude=%v: users %v, want %v", tc.exclude, got, tc.want)
		}
		for u := range tc.want {
			if !got[u] {
				t.Errorf("exclude=%v: %s missing (got %v)", tc.exclude, u, got)
			}
		}
	}
}
