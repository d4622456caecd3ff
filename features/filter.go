package features

import tidev1 "github.com/tide-live/tide/proto/tide/v1"

// WithFilter sets keep, which the store calls on every event (from Apply,
// ApplyBatch, Follow and WarmUp, on the writer's goroutine) before counting
// it; events it returns false for move the watermark but count nowhere
// (Stats.Filtered). Anti-fraud plugs in here: fraud.Engine.Keep observes the
// event and drops the traffic of flagged accounts and devices from then on
// (what was counted before the flag decays out of the windows). keep must be
// fast and must not keep the event.
func WithFilter(keep func(*tidev1.Event) bool) Option {
	return func(o *config) { o.keep = keep }
}
