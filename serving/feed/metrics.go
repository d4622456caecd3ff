package feed

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Pipeline stages, as metrics and traces name them.
const (
	stageCandidates = iota
	stageHydrate
	stageScore
	stageRerank
	stagePage
	numStages
)

var stageNames = [numStages]string{"candidates", "hydrate", "score", "rerank", "page"}

// Surfaces in metrics.
const (
	surfRooms = iota
	surfProducts
	surfShelf
	surfSimilar
	numSurfaces
)

var surfaceNames = [numSurfaces]string{"rooms", "products", "shelf", "similar"}

type metrics struct {
	stages    [numSurfaces][numStages]prometheus.Observer
	items     [numSurfaces]prometheus.Counter
	liveRooms prometheus.Gauge
}

// newMetrics builds the metrics and registers them with reg (nil: not
// registered).
func newMetrics(reg prometheus.Registerer) *metrics {
	stage := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tide_feed_stage_seconds",
		Help:    "Time spent in each feed pipeline stage, by surface.",
		Buckets: []float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2},
	}, []string{"surface", "stage"})
	items := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tide_feed_items_total",
		Help: "Items served in feed responses, by surface.",
	}, []string{"surface"})
	live := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tide_feed_live_rooms",
		Help: "Live rooms in the feed's current snapshot.",
	})
	m := &metrics{liveRooms: live}
	for su := range numSurfaces {
		for st := range numStages {
			m.stages[su][st] = stage.WithLabelValues(surfaceNames[su], stageNames[st])
		}
		m.items[su] = items.WithLabelValues(surfaceNames[su])
	}
	if reg != nil {
		reg.MustRegister(stage, items, live)
	}
	return m
}

// stageTimer times consecutive stages of one request.
type stageTimer struct {
	m    *metrics
	surf int
	last time.Time
}

func (t *stageTimer) start(m *metrics, surf int) {
	t.m, t.surf, t.last = m, surf, time.Now()
}

func (t *stageTimer) done(stage int) {
	now := time.Now()
	t.m.stages[t.surf][stage].Observe(now.Sub(t.last).Seconds())
	t.last = now
}
