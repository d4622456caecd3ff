// Package refused counts the stream callbacks a provider refused, by
// provider and reason, in a Prometheus counter.
package refused

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reason is why a callback was refused.
type Reason string

// Reasons a callback is refused.
const (
	Forged    Reason = "forged"    // the signature does not match
	Expired   Reason = "expired"   // the signature was right but its time has passed
	Malformed Reason = "malformed" // the request could not be read
)

// Counter counts refused callbacks. A nil *Counter counts nothing, so a
// provider built without metrics needs no checks.
type Counter struct {
	vec *prometheus.CounterVec
}

// New registers tide_stream_callbacks_refused_total{provider,reason} on reg.
// Several providers may share one registry: when the counter is already
// registered, New returns a Counter on the registered one.
func New(reg prometheus.Registerer) (*Counter, error) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tide_stream_callbacks_refused_total",
		Help: "Stream provider callbacks refused, by provider and reason (forged, expired, malformed).",
	}, []string{"provider", "reason"})
	if err := reg.Register(vec); err != nil {
		var already prometheus.AlreadyRegisteredError
		if !errors.As(err, &already) {
			return nil, fmt.Errorf("register refused-callback counter: %w", err)
		}
		existing, ok := already.ExistingCollector.(*prometheus.CounterVec)
		if !ok {
			return nil, fmt.Errorf("register refused-callback counter: a different collector has its name: %w", err)
		}
		vec = existing
	}
	return &Counter{vec: vec}, nil
}

// Inc counts one callback of provider refused for reason.
func (c *Counter) Inc(provider string, reason Reason) {
	if c == nil {
		return
	}
	c.vec.WithLabelValues(provider, string(reason)).Inc()
}
