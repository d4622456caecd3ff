package experiment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

const testConfig = `{
  "layers": [
    {"name": "ranking", "experiments": [
      {"name": "room_ranker", "share": 0.6, "surfaces": ["rooms"], "arms": [
        {"name": "popularity", "weight": 1, "params": {"ranker": "popularity"}},
        {"name": "personalised", "weight": 3, "params": {"ranker": "personalised"}}
      ]},
      {"name": "product_ranker", "share": 0.3, "surfaces": ["products"], "arms": [
        {"name": "a", "weight": 1, "params": {"ranker": "popularity"}},
        {"name": "b", "weight": 1, "params": {"ranker": "personalised"}}
      ]}
    ]},
    {"name": "ui", "experiments": [
      {"name": "explore", "share": 0.5, "arms": [
        {"name": "low", "weight": 1, "params": {"explore_share": "0.05"}},
        {"name": "high", "weight": 1, "params": {"explore_share": "0.2"}}
      ]}
    ]}
  ]
}`

func mustAssigner(t testing.TB, js string) *Assigner {
	t.Helper()
	c, err := Parse(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAssignDeterministicAndShares(t *testing.T) {
	a := mustAssigner(t, testConfig)
	b := mustAssigner(t, testConfig) // a second process with the same file
	const n = 100_000
	counts := map[string]int{}
	var buf, buf2 []Assignment
	both := 0
	for i := range n {
		u := fmt.Sprintf("u%06d", i)
		buf = a.Assign(u, "rooms", buf)
		buf2 = b.Assign(u, "rooms", buf2)
		if len(buf) != len(buf2) {
			t.Fatalf("%s: %v vs %v", u, buf, buf2)
		}
		for k := range buf {
			if buf[k].Experiment != buf2[k].Experiment || buf[k].Arm != buf2[k].Arm {
				t.Fatalf("%s: assignment differs between two assigners: %v vs %v", u, buf[k], buf2[k])
			}
			counts[buf[k].Experiment+"/"+buf[k].Arm]++
		}
		if len(buf) == 2 {
			both++
		}
	}
	// Expected shares: room_ranker 60 % of users split 1:3; explore 50 % split 1:1;
	// product_ranker is not on the rooms surface.
	want := map[string]float64{
		"room_ranker/popularity": 0.6 * 0.25, "room_ranker/personalised": 0.6 * 0.75,
		"explore/low": 0.25, "explore/high": 0.25,
	}
	for k, w := range want {
		got := float64(counts[k]) / n
		// 5 standard deviations of a binomial proportion.
		tol := 5 * math.Sqrt(w*(1-w)/n)
		if math.Abs(got-w) > tol {
			t.Errorf("%s: share %.4f, want %.4f ± %.4f", k, got, w, tol)
		}
	}
	if c := counts["product_ranker/a"] + counts["product_ranker/b"]; c != 0 {
		t.Errorf("product_ranker assigned on the rooms surface %d times", c)
	}
	// Layers are independent: P(both) ≈ P(room_ranker)·P(explore).
	if got, w := float64(both)/n, 0.6*0.5; math.Abs(got-w) > 0.01 {
		t.Errorf("in both layers: %.4f, want about %.4f (independent layers)", got, w)
	}
}

func TestAssignExclusiveWithinLayer(t *testing.T) {
	a := mustAssigner(t, testConfig)
	var buf []Assignment
	inRoom, inProduct := 0, 0
	for i := range 20_000 {
		buf = a.Assign(fmt.Sprintf("user-%d", i), "", buf)
		var r, p bool
		for _, x := range buf {
			r = r || x.Experiment == "room_ranker"
			p = p || x.Experiment == "product_ranker"
		}
		if r && p {
			t.Fatal("a user is in two experiments of one layer")
		}
		if r {
			inRoom++
		}
		if p {
			inProduct++
		}
	}
	if math.Abs(float64(inRoom)/20_000-0.6) > 0.02 || math.Abs(float64(inProduct)/20_000-0.3) > 0.02 {
		t.Errorf("room %d, product %d of 20000: want about 60 %% and 30 %%", inRoom, inProduct)
	}
}

func TestParamAndMap(t *testing.T) {
	a := mustAssigner(t, testConfig)
	for i := range 1000 {
		u := fmt.Sprintf("p%d", i)
		as := a.Assign(u, "rooms", nil)
		v, ok := Param(as, "ranker")
		m := Map(as)
		if arm, in := m["room_ranker"]; in {
			if !ok || (arm == "popularity") != (v == "popularity") {
				t.Fatalf("%s: arm %q but ranker param %q", u, arm, v)
			}
		} else if ok {
			t.Fatalf("%s: ranker param %q without an experiment setting it", u, v)
		}
	}
	if Map(nil) != nil {
		t.Error("Map(nil) is not nil")
	}
	var none *Assigner
	if got := none.Assign("u1", "rooms", nil); len(got) != 0 {
		t.Errorf("nil assigner assigned %v", got)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ js, want string }{
		{`{"layers":[{"name":"a","experiments":[{"name":"x","share":0.7,"arms":[{"name":"a","weight":1}]},{"name":"y","share":0.4,"arms":[{"name":"a","weight":1}]}]}]}`, "add up to 1.1"},
		{`{"layers":[{"name":"a","experiments":[{"name":"x","share":1,"arms":[{"name":"a","weight":0}]}]}]}`, "weight 0 must be positive"},
		{`{"layers":[{"name":"a","experiments":[{"name":"x","share":1,"arms":[]}]}]}`, "no arms"},
		{`{"layers":[{"name":"a","experiments":[{"name":"x","share":1.5,"arms":[{"name":"a","weight":1}]}]}]}`, "not in (0, 1]"},
		{`{"layers":[{"name":"a","experiments":[{"name":"x","share":1,"arms":[{"name":"a","weight":1,"params":{"k":"1"}}]}]},` +
			`{"name":"b","experiments":[{"name":"y","share":1,"arms":[{"name":"a","weight":1,"params":{"k":"2"}}]}]}]}`, `param "k" is set in layers`},
		{`{"layers":[{"name":"a","experiments":[{"name":"x","share":1,"arms":[{"name":"a","weight":1}]}]},{"name":"a"}]}`, "defined twice"},
		{`{"layers":[{"name":"a","experiment":[]}]}`, "unknown field"},
	} {
		_, err := Parse(strings.NewReader(tc.js))
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want an ErrConfig naming %q", tc.js, err, tc.want)
		}
	}
	c, _ := Parse(strings.NewReader(testConfig))
	if got := c.ParamValues("ranker"); len(got) != 2 {
		t.Errorf("ParamValues(ranker) = %v", got)
	}
}

func TestExposuresLogOncePerDay(t *testing.T) {
	a := mustAssigner(t, testConfig)
	reg := prometheus.NewRegistry()
	var mu sync.Mutex
	var events []*tidev1.Event
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	x := NewExposures(a, reg, WithExposureLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithExposureClock(func() time.Time { return now }),
		WithEmitter(func(_ context.Context, e *tidev1.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}))
	var u string
	var as []Assignment
	for i := 0; len(as) < 2; i++ { // a user in both layers
		u = fmt.Sprintf("u%d", i)
		as = a.Assign(u, "rooms", as)
	}
	for range 5 {
		x.Log(context.Background(), u, "rooms", "req-1", as)
	}
	if len(events) != 2 {
		t.Fatalf("%d exposure events after 5 responses in both layers, want 2 (one per experiment)", len(events))
	}
	for _, e := range events {
		if e.GetType() != tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE || e.GetUserId() != u ||
			len(e.GetExperiments()) != 1 || e.GetRequestId() != "req-1" || e.GetEventId() == "" {
			t.Errorf("bad exposure event %v", e)
		}
	}
	if got := counterValue(t, x.total.WithLabelValues(as[0].Experiment, as[0].Arm)); got != 5 {
		t.Errorf("exposure counter %v, want 5", got)
	}
	now = now.Add(24 * time.Hour) // the next day logs again, with a new event_id
	x.Log(context.Background(), u, "rooms", "req-2", as[:1])
	if len(events) != 3 || events[2].GetEventId() == events[0].GetEventId() && events[2].GetEventId() == events[1].GetEventId() {
		t.Fatalf("next day: %d events", len(events))
	}
	var none *Exposures
	none.Log(context.Background(), u, "rooms", "r", as) // no panic
}

func TestStamp(t *testing.T) {
	a := mustAssigner(t, testConfig)
	var u string
	var as []Assignment
	for i := 0; len(as) < 2; i++ {
		u = fmt.Sprintf("s%d", i)
		as = a.Assign(u, "", as)
	}
	ev := []*tidev1.Event{
		{EventId: "1", Type: tidev1.EventType_EVENT_TYPE_ROOM_ENTER, UserId: u, RoomId: "r"},
		{EventId: "2", Type: tidev1.EventType_EVENT_TYPE_ROOM_ENTER, UserId: u, RoomId: "r", Experiments: map[string]string{"x": "y"}},
		{EventId: "3", Type: tidev1.EventType_EVENT_TYPE_STREAM_START, RoomId: "r"},
	}
	for _, e := range ev {
		a.Stamp(e)
	}
	if got := ev[0].GetExperiments(); len(got) != 2 || got[as[0].Experiment] != as[0].Arm {
		t.Errorf("event without experiments stamped %v, want %v", got, Map(as))
	}
	if got := ev[1].GetExperiments(); len(got) != 1 || got["x"] != "y" {
		t.Errorf("client's experiments overwritten: %v", got)
	}
	if len(ev[2].GetExperiments()) != 0 {
		t.Errorf("stream event stamped")
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
