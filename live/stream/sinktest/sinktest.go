// Package sinktest has a recording stream.Sink for the providers' tests.
package sinktest

import (
	"context"
	"sync"
	"time"

	"github.com/tide-live/tide/live/stream"
)

// Recorder is a stream.Sink that keeps every signal it is given, applies
// each Signal.ID once, and answers with Decide (Allow when nil). (Tests
// against the real room registry use the registry as the Sink.)
type Recorder struct {
	// Decide answers a new signal; nil allows everything.
	Decide func(stream.Signal) stream.Decision
	// Err, when set, is returned by Apply (a failing registry).
	Err error

	mu      sync.Mutex
	all     []stream.Signal // every call, retries included
	applied []stream.Signal // first call of each ID
	seen    map[string]stream.Decision
	notify  chan struct{}
}

// Apply records s and answers it; a repeated ID gets the first answer again.
func (r *Recorder) Apply(_ context.Context, s stream.Signal) (stream.Decision, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]stream.Decision{}
	}
	r.all = append(r.all, s)
	if r.notify != nil {
		close(r.notify)
		r.notify = nil
	}
	if r.Err != nil {
		return stream.Decision{}, r.Err
	}
	if d, ok := r.seen[s.ID]; ok {
		return d, nil
	}
	d := stream.Decision{Allow: true}
	if r.Decide != nil {
		d = r.Decide(s)
	}
	r.seen[s.ID] = d
	r.applied = append(r.applied, s)
	return d, nil
}

// All returns every signal received, retries included.
func (r *Recorder) All() []stream.Signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]stream.Signal(nil), r.all...)
}

// Applied returns the first signal of each ID, in arrival order.
func (r *Recorder) Applied() []stream.Signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]stream.Signal(nil), r.applied...)
}

// WaitFor waits until a signal matching match has been applied, or timeout.
func (r *Recorder) WaitFor(match func(stream.Signal) bool, timeout time.Duration) (stream.Signal, bool) {
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		for _, s := range r.applied {
			if match(s) {
				r.mu.Unlock()
				return s, true
			}
		}
		ch := make(chan struct{})
		if r.notify == nil {
			r.notify = ch
		} else {
			ch = r.notify
		}
		r.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			return stream.Signal{}, false
		}
		select {
		case <-ch:
		case <-time.After(left):
		}
	}
}

// Kind matches signals of kind k for streamName.
func Kind(k stream.Kind, streamName string) func(stream.Signal) bool {
	return func(s stream.Signal) bool { return s.Kind == k && s.Stream == streamName }
}
