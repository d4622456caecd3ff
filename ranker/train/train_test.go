package train_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/features/eventstest"
	"github.com/tide-live/tide/features/offline"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker/ctr"
	"github.com/tide-live/tide/ranker/train"
)

// TestAccumulatorMatchesClickHouse checks that the in-memory accumulator
// (used on simulated streams) weighs interactions exactly as the ClickHouse
// extraction `tide train` uses.
func TestAccumulatorMatchesClickHouse(t *testing.T) {
	conn, db := eventstest.Open(t)
	es := simulate(200, 20, 24*time.Hour)
	eventstest.Insert(t, conn, db, es)
	acc := train.NewAccumulator(offline.DefaultWeights())
	for _, e := range es {
		acc.Add(e)
	}
	to := simStart.Add(24 * time.Hour)
	x := offline.New(conn, offline.WithTable(db, "events"), offline.WithProgress(func(offline.Progress) {}, time.Hour))
	for _, kind := range []offline.ItemKind{offline.Products, offline.Anchors} {
		m, err := x.Matrix(context.Background(), offline.Query{Kind: kind, From: simStart, To: to})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][2]float64{}
		ix := train.FromMatrix(m)
		for r := range ix.Len() {
			want[ix.Users.Name(int32(ix.User[r]))+"/"+ix.Items.Name(int32(ix.Item[r]))] = [2]float64{float64(ix.Weight[r]), float64(ix.Time[r])}
		}
		got := acc.Interactions(kind, to)
		if got.Len() != len(want) {
			t.Errorf("%s: %d pairs in memory, %d from ClickHouse", kind, got.Len(), len(want))
		}
		bad := 0
		for r := range got.Len() {
			key := got.Users.Name(int32(got.User[r])) + "/" + got.Items.Name(int32(got.Item[r]))
			w, ok := want[key]
			if !ok || math.Abs(float64(got.Weight[r])-w[0]) > 1e-3*max(1, w[0]) || float64(got.Time[r]) != w[1] {
				if bad++; bad <= 5 {
					t.Errorf("%s %s: memory (%v, %v), ClickHouse %v (found %v)", kind, key, got.Weight[r], got.Time[r], w, ok)
				}
			}
		}
		t.Logf("%s: %d pairs agree", kind, got.Len()-bad)
	}
}

// stream builds a hand-made event stream.
type stream struct {
	t0 time.Time
	n  int
	es []*tidev1.Event
}

func (s *stream) add(typ tidev1.EventType, at time.Duration, user, room, merchant, req string) {
	s.n++
	ms := s.t0.Add(at).UnixMilli()
	s.es = append(s.es, &tidev1.Event{EventId: fmt.Sprint("e", s.n), Type: typ, Ts: ms, ReceivedAt: ms,
		UserId: user, RoomId: room, MerchantId: merchant, RequestId: req, LiveSessionId: room + "-s"})
}

func TestSamplerLabelsAndFeatures(t *testing.T) {
	const (
		imp   = tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION
		enter = tidev1.EventType_EVENT_TYPE_ROOM_ENTER
		leave = tidev1.EventType_EVENT_TYPE_ROOM_LEAVE
	)
	s := stream{t0: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	s.add(tidev1.EventType_EVENT_TYPE_STREAM_START, 0, "", "r1", "m1", "")
	s.add(tidev1.EventType_EVENT_TYPE_STREAM_START, 0, "", "r2", "m2", "")
	// before the sampling start: applied, not sampled
	s.add(imp, time.Minute, "u1", "r1", "m1", "q0")
	// request q1 shows r1 and r2; u1 enters r1 3 s later
	s.add(imp, 10*time.Minute, "u1", "r1", "m1", "q1")
	s.add(imp, 10*time.Minute, "u1", "r2", "m2", "q1")
	s.add(enter, 10*time.Minute+3*time.Second, "u1", "r1", "m1", "q1")
	s.add(leave, 15*time.Minute, "u1", "r1", "m1", "")
	// u2 is shown r1 but enters only 5 min later: too late
	s.add(imp, 20*time.Minute, "u2", "r1", "m1", "q2")
	s.add(enter, 25*time.Minute, "u2", "r1", "m1", "")
	// u1 is shown r1 again: a revisit candidate, seen before
	s.add(imp, 30*time.Minute, "u1", "r1", "m1", "q3")
	s.add(tidev1.EventType_EVENT_TYPE_STREAM_END, 40*time.Minute, "", "r2", "m2", "")
	s.add(imp, 41*time.Minute, "u1", "r2", "m2", "q4")

	smp := train.NewSampler(features.NewStore(), nil, nil, s.t0.Add(5*time.Minute), train.DefaultSamplerConfig())
	for _, e := range s.es {
		smp.Apply(e)
	}
	r := smp.Rooms
	if r.Len() != 5 {
		t.Fatalf("%d samples, want 5", r.Len())
	}
	if want := []bool{true, false, false, false, false}; fmt.Sprint(r.Y) != fmt.Sprint(want) {
		t.Errorf("labels %v, want %v", r.Y, want)
	}
	first, again := r.X[0], r.X[3]
	if first[ctr.Visited] != 0 || again[ctr.Visited] != 1 || again[ctr.AnchorRecency] <= 0 || again[ctr.AnchorCount] <= first[ctr.AnchorCount] {
		t.Errorf("repeat features: first %v/%v, again %v/%v/%v", first[ctr.Visited], first[ctr.AnchorCount],
			again[ctr.Visited], again[ctr.AnchorRecency], again[ctr.AnchorCount])
	}
	if first[ctr.Seen] <= 0 || r.X[1][ctr.Seen] != 0 {
		t.Errorf("seen: r1 (shown at 1 min) %v, r2 %v", first[ctr.Seen], r.X[1][ctr.Seen])
	}
	if again[ctr.LeftRecently] <= 0 {
		t.Errorf("left recently %v after leaving 15 min before", again[ctr.LeftRecently])
	}
	if first[ctr.Live] != 1 || first[ctr.Freshness] <= 0 || r.X[4][ctr.Live] != 0 {
		t.Errorf("live: %v (freshness %v); after the stream ended %v", first[ctr.Live], first[ctr.Freshness], r.X[4][ctr.Live])
	}
	if first[ctr.CFKnown] != 0 {
		t.Errorf("no CF model, but cf_known %v", first[ctr.CFKnown])
	}
}
