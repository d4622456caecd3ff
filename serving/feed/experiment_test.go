package feed

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/experiment"
)

const armsConfig = `{"layers": [{"name": "ranking", "experiments": [
  {"name": "room_ranker", "share": 1, "surfaces": ["rooms"], "arms": [
    {"name": "control", "weight": 1, "params": {"ranker": "popularity"}},
    {"name": "personalised", "weight": 1, "params": {"ranker": "personalised"}}]}]}]}`

func TestExperimentArmsSwitchTheRanker(t *testing.T) {
	cfg, err := experiment.Parse(strings.NewReader(armsConfig))
	if err != nil {
		t.Fatal(err)
	}
	a, err := experiment.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var exposures []*tidev1.Event
	x := experiment.NewExposures(a, prometheus.NewRegistry(),
		experiment.WithExposureLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		experiment.WithEmitter(func(_ context.Context, e *tidev1.Event) {
			mu.Lock()
			exposures = append(exposures, e)
			mu.Unlock()
		}))
	noExplore := DefaultTuning()
	noExplore.ExploreShare = 0
	w := newWorld(t, WithExperiments(a, x), WithTuning(noExplore))

	// Users of each arm with the same history (a 美妆 room).
	users := map[string][]string{}
	for i := 0; len(users["control"]) < 3 || len(users["personalised"]) < 3; i++ {
		u := fmt.Sprintf("ab-%d", i)
		arm := experiment.Map(a.Assign(u, SurfaceRooms, nil))["room_ranker"]
		users[arm] = append(users[arm], u)
		w.apply(w.ev(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, u, 9))
	}
	popular := ids(w.rooms("nobody-in-particular", &tidev1.RoomsRequest{PageSize: 10}).Items)
	var controlOrder []string
	for _, arm := range []string{"control", "personalised"} {
		for _, u := range users[arm] {
			res := w.rooms(u, &tidev1.RoomsRequest{PageSize: 10})
			if got := res.GetExperiments()["room_ranker"]; got != arm {
				t.Fatalf("%s: response experiments %v, want room_ranker=%s", u, res.GetExperiments(), arm)
			}
			got := ids(res.Items)
			switch arm {
			case "control":
				if controlOrder == nil {
					controlOrder = got
				}
				if !slices.Equal(got, controlOrder) {
					t.Errorf("control arm is not the same popularity feed for everyone:\n%v\n%v", got, controlOrder)
				}
			case "personalised":
				if got[0] == controlOrder[0] && slices.Equal(got, popular) {
					t.Errorf("personalised arm ignores the viewer's history: %v", got)
				}
				beauty := 0
				for _, it := range res.Items[:5] {
					if it.GetCategory() == "美妆" {
						beauty++
					}
				}
				if beauty < 2 {
					t.Errorf("%s (personalised, watched 美妆) sees %d 美妆 rooms in the top 5: %v", u, beauty, got)
				}
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(exposures) != len(users["control"])+len(users["personalised"])+1 {
		t.Fatalf("%d exposure events, want one per user", len(exposures))
	}
	for _, e := range exposures {
		if e.GetType() != tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE || e.GetRequestId() == "" || len(e.GetExperiments()) != 1 {
			t.Errorf("bad exposure event %v", e)
		}
	}
}

func TestUnknownVariantRejected(t *testing.T) {
	cfg, err := experiment.Parse(strings.NewReader(strings.ReplaceAll(armsConfig, `"popularity"`, `"random"`)))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := experiment.New(cfg)
	w := newWorld(t)
	if _, err := New(w.store, WithExperiments(a, nil)); err == nil || !strings.Contains(err.Error(), `"random"`) {
		t.Fatalf("New with ranker=random: %v", err)
	}
}
