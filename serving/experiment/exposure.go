package experiment

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Emitter takes an EXPERIMENT_EXPOSURE event. It must not block the request
// that exposed the user (produce asynchronously, drop on overload).
type Emitter func(ctx context.Context, e *tidev1.Event)

// Exposures logs which arms users were exposed to: every exposure counts in
// tide_experiment_exposures_total{experiment,arm}; the first one of a user,
// experiment and arm on a UTC day is also logged and, with an Emitter,
// produced as an EXPERIMENT_EXPOSURE event whose event_id is derived from
// (user, experiment, arm, day), so a repeat is idempotent downstream. A nil
// *Exposures logs nothing.
type Exposures struct {
	counters []prometheus.Counter // by Assignment.id
	total    *prometheus.CounterVec
	emit     Emitter
	log      *slog.Logger
	now      func() time.Time
	seen     []atomic.Uint64 // lossy set of (user, arm, day) keys already logged
}

// ExposureOption configures Exposures.
type ExposureOption func(*Exposures)

// WithEmitter produces EXPERIMENT_EXPOSURE events through emit.
func WithEmitter(emit Emitter) ExposureOption { return func(x *Exposures) { x.emit = emit } }

// WithExposureLogger sets the logger (default slog.Default()).
func WithExposureLogger(l *slog.Logger) ExposureOption { return func(x *Exposures) { x.log = l } }

// WithExposureClock sets the clock (tests).
func WithExposureClock(now func() time.Time) ExposureOption {
	return func(x *Exposures) { x.now = now }
}

// WithDedupeSlots sets the size of the set that remembers logged exposures
// (default 1<<18 slots, 2 MiB; rounded up to a power of two). A full set
// forgets old keys, so a user may be logged twice a day, never missed.
func WithDedupeSlots(n int) ExposureOption {
	return func(x *Exposures) {
		size := 1
		for size < n {
			size <<= 1
		}
		x.seen = make([]atomic.Uint64, size)
	}
}

// NewExposures builds the exposure log of a's arms and registers its counter
// with reg.
func NewExposures(a *Assigner, reg prometheus.Registerer, opts ...ExposureOption) *Exposures {
	x := &Exposures{log: slog.Default(), now: time.Now}
	WithDedupeSlots(1 << 18)(x)
	for _, o := range opts {
		o(x)
	}
	x.total = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tide_experiment_exposures_total",
		Help: "Responses that exposed a user to an experiment arm.",
	}, []string{"experiment", "arm"})
	if a != nil {
		for _, r := range a.arms {
			x.counters = append(x.counters, x.total.WithLabelValues(r.experiment, r.arm))
		}
	}
	if reg != nil {
		reg.MustRegister(x.total)
	}
	return x
}

// Log records that the response requestID on surface showed userID the
// arms as (which must come from the Assigner given to NewExposures).
func (x *Exposures) Log(ctx context.Context, userID, surface, requestID string, as []Assignment) {
	if x == nil || len(as) == 0 {
		return
	}
	now := x.now()
	day := uint64(now.UTC().Unix() / 86400)
	uh := hashString(0x9e3779b97f4a7c15, userID)
	for _, a := range as {
		if int(a.id) < len(x.counters) {
			x.counters[a.id].Inc()
		}
		key := mix(uh ^ mix(uint64(a.id)+1) ^ mix(day<<20))
		if key == 0 {
			key = 1
		}
		slot := &x.seen[key&uint64(len(x.seen)-1)]
		if slot.Swap(key) == key {
			continue
		}
		x.log.InfoContext(ctx, "experiment exposure", "user_id", userID, "experiment", a.Experiment,
			"arm", a.Arm, "surface", surface, "request_id", requestID)
		if x.emit == nil {
			continue
		}
		ms := now.UnixMilli()
		x.emit(ctx, &tidev1.Event{
			EventId:     "xp-" + strconv.FormatUint(key, 36),
			Type:        tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE,
			Ts:          ms,
			ReceivedAt:  ms,
			UserId:      userID,
			RequestId:   requestID,
			Experiments: map[string]string{a.Experiment: a.Arm},
			Attrs:       map[string]string{"surface": surface},
		})
	}
}

// Producer is what KafkaEmitter needs of a Kafka client; *kgo.Client is one.
type Producer interface {
	Produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
}

// KafkaEmitter produces exposure events to topic asynchronously as the
// server's records (ingest.ServerRecord); failures are counted in
// tide_experiment_exposure_events_total{result="failed"} and logged at most
// once a minute. reg may be nil.
func KafkaEmitter(p Producer, topic string, reg prometheus.Registerer, log *slog.Logger) Emitter {
	res := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tide_experiment_exposure_events_total",
		Help: "EXPERIMENT_EXPOSURE events produced, by result (ok, failed).",
	}, []string{"result"})
	if reg != nil {
		reg.MustRegister(res)
	}
	ok, failed := res.WithLabelValues("ok"), res.WithLabelValues("failed")
	var lastLog atomic.Int64
	return func(ctx context.Context, e *tidev1.Event) {
		r, err := ingest.ServerRecord(topic, e) // exposures are the server's to produce
		if err != nil {
			failed.Inc()
			return
		}
		p.Produce(context.WithoutCancel(ctx), r, func(_ *kgo.Record, err error) {
			if err == nil {
				ok.Inc()
				return
			}
			failed.Inc()
			now := time.Now().Unix()
			if last := lastLog.Load(); now-last >= 60 && lastLog.CompareAndSwap(last, now) {
				log.Warn("experiment: exposure event not produced", "topic", topic, "err", err)
			}
		})
	}
}
