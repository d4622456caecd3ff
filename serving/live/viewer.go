package live

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/live"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/auth"
)

// GetRoom is the room page: the card, the session on air (else the next
// scheduled one) with signed pull URLs while on air, the shelf in the
// merchant's order with the product being explained, and the replays.
func (h *Handler) GetRoom(ctx context.Context, req *connect.Request[tidev1.GetRoomRequest]) (*connect.Response[tidev1.GetRoomResponse], error) {
	if req.Msg.GetRoomId() == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("room_id: is empty"))
	}
	room, err := h.reg.Room(ctx, req.Msg.GetRoomId())
	if err != nil {
		return nil, h.code(err)
	}
	out := &tidev1.GetRoomResponse{Room: roomProto(room)}
	sessions, err := h.reg.Sessions(ctx, room.ID)
	if err != nil {
		return nil, h.code(err)
	}
	if s, ok := current(sessions); ok {
		out.Session = sessionProto(s)
		if s.State.OnAir() && h.reg.Provider() != nil {
			exp := h.now().Add(h.pullTTL)
			pull, err := h.reg.Provider().PullURLs(s.Stream, exp)
			if err != nil {
				return nil, h.code(err)
			}
			out.Pull = &tidev1.PullURLs{Flv: pull.FLV, Hls: pull.HLS, Rtmp: pull.RTMP, ExpiresAt: pull.Expires.UnixMilli()}
		}
	}
	lines, err := h.reg.Shelf(ctx, room.ID)
	if err != nil {
		return nil, h.code(err)
	}
	ids := make([]string, len(lines))
	for i, l := range lines {
		ids[i] = l.ProductID
		if l.Explaining {
			out.ExplainingProductId = l.ProductID
		}
	}
	products, err := h.products(ctx, ids)
	if err != nil {
		return nil, err
	}
	out.Shelf = shelfProto(lines, products)
	replays, err := h.reg.Replays(ctx, room.ID)
	if err != nil {
		return nil, h.code(err)
	}
	for _, p := range replays {
		out.Replays = append(out.Replays, &tidev1.Replay{SessionId: p.SessionID, Url: p.URL, DurationMs: p.Duration.Milliseconds()})
	}
	return connect.NewResponse(out), nil
}

// current is the session on air, else the next scheduled one.
func current(ss []live.Session) (live.Session, bool) {
	var next *live.Session
	for i := range ss {
		switch {
		case ss[i].State.OnAir():
			return ss[i], true
		case ss[i].State == live.StateScheduled && next == nil:
			next = &ss[i]
		}
	}
	if next != nil {
		return *next, true
	}
	return live.Session{}, false
}

// ListUpcoming lists the scheduled sessions (预告) starting within the
// asked hours, soonest first, with their rooms' cards.
func (h *Handler) ListUpcoming(ctx context.Context, req *connect.Request[tidev1.ListUpcomingRequest]) (*connect.Response[tidev1.ListUpcomingResponse], error) {
	hours, size := req.Msg.GetWithinHours(), req.Msg.GetPageSize()
	switch {
	case hours < 0 || hours > 720:
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("within_hours: must be 0..720"))
	case size < 0 || size > 100:
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("page_size: must be 0..100"))
	}
	if hours == 0 {
		hours = 24
	}
	if size == 0 {
		size = 20
	}
	now := h.now().UTC()
	ss, err := h.reg.Upcoming(ctx, now.Add(-time.Minute), now.Add(time.Duration(hours)*time.Hour))
	if err != nil {
		return nil, h.code(err)
	}
	out := &tidev1.ListUpcomingResponse{}
	rooms := map[string]*tidev1.Room{}
	for _, s := range ss {
		if len(out.Sessions) == int(size) {
			break
		}
		r, ok := rooms[s.RoomID]
		if !ok {
			room, err := h.reg.Room(ctx, s.RoomID)
			if err != nil {
				return nil, h.code(err)
			}
			r = roomProto(room)
			rooms[s.RoomID] = r
		}
		out.Sessions = append(out.Sessions, &tidev1.UpcomingSession{Room: r, Session: sessionProto(s)})
	}
	return connect.NewResponse(out), nil
}

// BanSession bans a session (admins only).
func (h *Handler) BanSession(ctx context.Context, req *connect.Request[tidev1.BanSessionRequest]) (*connect.Response[tidev1.BanSessionResponse], error) {
	if _, err := auth.RequireAdmin(ctx); err != nil {
		return nil, err
	}
	reason := req.Msg.GetReason()
	if reason == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("reason: is empty; the merchant is shown why"))
	}
	s, err := h.reg.Ban(ctx, req.Msg.GetSessionId(), "operator: "+reason)
	if err != nil {
		return nil, h.code(err)
	}
	return connect.NewResponse(&tidev1.BanSessionResponse{Session: sessionProto(s)}), nil
}

// ListReviews lists the moderation verdicts waiting for an operator
// (admins only).
func (h *Handler) ListReviews(ctx context.Context, _ *connect.Request[tidev1.ListReviewsRequest]) (*connect.Response[tidev1.ListReviewsResponse], error) {
	if _, err := auth.RequireAdmin(ctx); err != nil {
		return nil, err
	}
	revs, err := h.reg.Reviews(ctx)
	if err != nil {
		return nil, h.code(err)
	}
	out := &tidev1.ListReviewsResponse{}
	for _, v := range revs {
		out.Reviews = append(out.Reviews, &tidev1.Review{Id: v.ID, SessionId: v.SessionID, RoomId: v.RoomID,
			Provider: v.Provider, Label: v.Label, Score: v.Score, At: v.At.UnixMilli()})
	}
	return connect.NewResponse(out), nil
}
