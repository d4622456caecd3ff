package experiment

import (
	"context"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
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

// StampTrack is a Connect interceptor for EventService.Track that stamps
// every event of the batch (see Stamp) before the handler validates and
// produces them. Mount it with the Track handler's options:
//
//	tidev1connect.NewEventServiceHandler(svc, append(srv.ConnectOptions(),
//		connect.WithInterceptors(experiment.StampTrack(a)))...)
func StampTrack(a *Assigner) connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if req.Spec().Procedure == tidev1connect.EventServiceTrackProcedure {
				if tr, ok := req.Any().(*tidev1.TrackRequest); ok {
					for _, e := range tr.GetEvents() {
						a.Stamp(e)
					}
				}
			}
			return next(ctx, req)
		}
	})
}
