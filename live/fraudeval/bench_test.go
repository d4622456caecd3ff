package fraudeval

import (
	"testing"

	"github.com/tide-live/tide/features/fraud"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// BenchmarkObserve is the rules' cost per event on simulated traffic with
// attackers (the hot path of the features follower):
//
//	go test -run XXX -bench Observe -benchmem ./live/fraudeval
func BenchmarkObserve(b *testing.B) {
	sim := livesim.New(livesim.WithSeed(TuneSeed), livesim.WithUsers(3000), livesim.WithMerchants(100),
		livesim.WithStart(start), livesim.WithAttackers(livesim.DefaultAttackers()))
	es := make([]*tidev1.Event, 500_000)
	for i := range es {
		es[i] = sim.Next()
	}
	eng := fraud.New(fraud.WithSink(func(fraud.Flag) {}))
	for _, e := range es[:len(es)/2] { // warm: state exists, as in steady state
		eng.Observe(e)
	}
	rest := es[len(es)/2:]
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		eng.Keep(rest[i%len(rest)])
	}
}
