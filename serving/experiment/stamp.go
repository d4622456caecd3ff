package experiment

import (
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Stamp fills e.experiments with the user's arms (every surface) when the
// client sent none, so events of clients that do not copy the experiments
// field still attribute to arms. Events without a user_id are left alone.
func (a *Assigner) Stamp(e *tidev1.Event) {
	if a == nil || len(e.GetExperiments()) > 0 || e.GetUserId() == "" {
		return
	}
	if e.GetType() == tidev1.EventType_EVENT_TYPE_STREAM_START || e.GetType() == tidev1.EventType_EVENT_TYPE_STREAM_END {
		return
	}
	var buf [8]Assignment
	e.Experiments = Map(a.Assign(e.GetUserId(), "", buf[:0]))
}
