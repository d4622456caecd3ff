// Package refusedtest reads the refused-callback counter back in tests.
package refusedtest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Gather reads the refused-callback counter from g as "provider/reason" →
// count, for tests of the providers.
func Gather(t testing.TB, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "tide_stream_callbacks_refused_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var provider, reason string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "provider":
					provider = l.GetValue()
				case "reason":
					reason = l.GetValue()
				}
			}
			out[provider+"/"+reason] = m.GetCounter().GetValue()
		}
	}
	return out
}
