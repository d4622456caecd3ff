package chreport_test

import (
	"context"
	"testing"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/report/chreport"
	"github.com/tide-live/tide/serving/report/chreport/chtest"
)

// TestFlagAfterEventsAndLateEvent checks what the report tables
// (report_events, experiment_arms) give when things arrive out of order: a
// fraud flag written after the events still leaves them out (exclusion is
// at read time), an event that arrives late, twice, counts once in its own
// minute, and exposures inserted again change no arm.
func TestFlagAfterEventsAndLateEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short")
	}
	conn, db := chtest.Database(t)
	ctx := context.Background()
	evs := chtest.Fixture()
	if err := chtest.Insert(ctx, conn, db, evs[:10]...); err != nil {
		t.Fatal(err)
	}
	if err := chtest.Insert(ctx, conn, db, evs[10:]...); err != nil {
		t.Fatal(err)
	}
	s, err := chreport.New(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Session(ctx, "m1", "r1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing flagged yet: u5's paid 9,000 and u5's and u6's enters count.
	if m := before.Metrics; m.GmvFen != 17_000 || m.PageViews != 5 || before.FraudExclusion.GetExcludedEvents() != 0 {
		t.Fatalf("before the flags: gmv %d, pv %d, excluded %d; want 17000, 5, 0",
			m.GmvFen, m.PageViews, before.FraudExclusion.GetExcludedEvents())
	}

	if err := chtest.InsertFlags(ctx, conn, db, chtest.FixtureFlags()...); err != nil {
		t.Fatal(err)
	}
	after, err := s.Session(ctx, "m1", "r1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if m, x := after.Metrics, after.FraudExclusion; m.GmvFen != 8000 || m.PageViews != 3 || m.UniqueViewers != 3 ||
		x.GetExcludedEvents() != 5 || x.GetTotalEvents() != 28 {
		t.Errorf("after the flags: gmv %d pv %d uv %d, excluded %d of %d; want 8000, 3, 3, 5 of 28",
			m.GmvFen, m.PageViews, m.UniqueViewers, x.GetExcludedEvents(), x.GetTotalEvents())
	}

	// A paid order from early in the session arrives now, and again.
	late := &tidev1.Event{EventId: "late-paid", Type: tidev1.EventType_EVENT_TYPE_ORDER_PAID,
		Ts: chtest.FixtureStart.UnixMilli() + 30_000, UserId: "u3", MerchantId: "m1", RoomId: "r1",
		LiveSessionId: "s1", ProductId: "p1", Value: 700}
	sc := chreport.Scope{MerchantID: "m1", RoomID: "r1", SessionID: "s1"}
	minsBefore, err := s.Minutes(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := chtest.Insert(ctx, conn, db, late); err != nil {
			t.Fatal(err)
		}
	}
	var copies uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".report_events WHERE event_id = 'late-paid'").Scan(&copies); err != nil || copies != 2 {
		t.Fatalf("report_events holds %d copies of the late event (%v), want 2 (no merge yet)", copies, err)
	}
	withLate, err := s.Session(ctx, "m1", "r1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if m := withLate.Metrics; m.GmvFen != 8700 || m.Orders != 3 || m.Buyers != 2 {
		t.Errorf("with the late order: gmv %d orders %d buyers %d; want 8700, 3, 2 (u3 bought before)", m.GmvFen, m.Orders, m.Buyers)
	}
	minsAfter, err := s.Minutes(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	lateMinute := late.Ts / 60_000 * 60_000
	gmvAt := func(mins []*tidev1.MinutePoint) int64 {
		for _, p := range mins {
			if p.Minute == lateMinute {
				return p.GmvFen
			}
		}
		return -1
	}
	if b, a := gmvAt(minsBefore), gmvAt(minsAfter); b < 0 || a-b != 700 {
		t.Errorf("the late order's minute: gmv %d before, %d after; want +700 once", b, a)
	}

	// Exposures inserted once more (a redelivery) leave the arms as they were.
	d := chreport.ShanghaiDay(chtest.FixtureStart.UnixMilli())
	expScope := chreport.Scope{MerchantID: "m1", From: chreport.DayStart(d - 1), To: chreport.DayStart(d + 2)}
	arms, err := s.Experiment(ctx, expScope, "exp1")
	if err != nil {
		t.Fatal(err)
	}
	var again []*tidev1.Event
	for _, e := range evs {
		if len(e.Experiments) > 0 {
			again = append(again, e)
		}
	}
	if len(again) == 0 {
		t.Fatal("the fixture has no stamped events")
	}
	if err := chtest.Insert(ctx, conn, db, again...); err != nil {
		t.Fatal(err)
	}
	armsAgain, err := s.Experiment(ctx, expScope, "exp1")
	if err != nil {
		t.Fatal(err)
	}
	if len(arms) != 2 || len(armsAgain) != len(arms) || armsAgain[0] != arms[0] || armsAgain[1] != arms[1] {
		t.Errorf("arms after a redelivery of %d stamped events: %+v, before %+v", len(again), armsAgain, arms)
	}
}
