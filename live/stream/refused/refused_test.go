package refused_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/live/stream/refused"
	"github.com/tide-live/tide/live/stream/refused/refusedtest"
)

func TestCounterSharedAcrossProviders(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := refused.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := refused.New(reg)
	if err != nil {
		t.Fatalf("second New on the same registry: %v", err)
	}
	a.Inc("tencent", refused.Forged)
	b.Inc("tencent", refused.Forged)
	b.Inc("nginx", refused.Expired)
	var none *refused.Counter
	none.Inc("aliyun", refused.Malformed) // a nil counter is a no-op

	got := refusedtest.Gather(t, reg)
	want := map[string]float64{"tencent/forged": 2, "nginx/expired": 1}
	if len(got) != len(want) {
		t.Fatalf("counted %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
