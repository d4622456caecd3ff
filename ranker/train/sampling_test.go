package train_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tide-live/tide/features"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker/train"
)

// Keep samples about that share of viewers, each with all or none of
// their impressions: the bound on the samples' memory.
func TestSamplerKeep(t *testing.T) {
	cfg := train.DefaultSamplerConfig()
	cfg.Keep = 0.25
	smp := train.NewSampler(features.NewStore(), nil, nil, simStart, cfg)
	kept := map[string]int{}
	for i := range 4000 {
		who := fmt.Sprintf("v%d", i%1000)
		ms := simStart.Add(time.Duration(i) * time.Second).UnixMilli()
		before := smp.Rooms.Len()
		smp.Apply(&tidev1.Event{EventId: fmt.Sprint(i), Type: tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, Ts: ms, ReceivedAt: ms,
			UserId: who, RoomId: "r1", MerchantId: "m1"})
		kept[who] += smp.Rooms.Len() - before
	}
	n := 0
	for who, k := range kept {
		if k != 0 && k != 4 {
			t.Fatalf("viewer %s has %d of 4 impressions sampled", who, k)
		}
		if k > 0 {
			n++
		}
	}
	if n < 200 || n > 300 {
		t.Fatalf("%d of 1000 viewers sampled, want about 250", n)
	}
}
