// Package live serves LiveService over Connect: the merchant calls that
// manage rooms, sessions (预告) and shelves, the viewer calls that read the
// room page and the upcoming sessions, and the operator calls of
// moderation. It is a thin layer over the room registry (live/postgres):
// it takes the merchant from the caller's credentials, checks shelf
// products against the catalog, signs URLs through the registry's stream
// provider, and turns errors into Connect codes.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/live"
	"github.com/tide-live/tide/live/postgres"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
)

// Catalog is where shelf products are checked and their cards read
// (commerce/postgres.Store).
type Catalog interface {
	// Products returns the products among ids that exist.
	Products(ctx context.Context, ids []string) ([]commerce.Product, error)
}

// Handler is the LiveService Connect handler. It is safe for concurrent use.
type Handler struct {
	tidev1connect.UnimplementedLiveServiceHandler
	reg     *postgres.Registry
	catalog Catalog
	pushTTL time.Duration
	pullTTL time.Duration
	now     func() time.Time
	log     *slog.Logger
}

// Option configures NewHandler.
type Option func(*Handler)

// WithPushTTL sets how long a push URL is valid (default 24h).
func WithPushTTL(d time.Duration) Option { return func(h *Handler) { h.pushTTL = d } }

// WithPullTTL sets how long pull URLs are valid (default 2h).
func WithPullTTL(d time.Duration) Option { return func(h *Handler) { h.pullTTL = d } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithLogger sets the logger for internal errors (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// NewHandler returns a handler over reg, checking shelves against catalog.
func NewHandler(reg *postgres.Registry, catalog Catalog, opts ...Option) *Handler {
	h := &Handler{reg: reg, catalog: catalog, pushTTL: 24 * time.Hour, pullTTL: 2 * time.Hour, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Mount returns the path and handler to mount on the server's mux.
func (h *Handler) Mount(opts ...connect.HandlerOption) (string, http.Handler) {
	return tidev1connect.NewLiveServiceHandler(h, opts...)
}

// CreateRoom creates a room of the calling merchant.
func (h *Handler) CreateRoom(ctx context.Context, req *connect.Request[tidev1.CreateRoomRequest]) (*connect.Response[tidev1.CreateRoomResponse], error) {
	m, err := auth.MerchantOf(ctx)
	if err != nil {
		return nil, err
	}
	r := req.Msg
	room, err := h.reg.CreateRoom(ctx, live.Room{MerchantID: m, Title: r.GetTitle(), CoverURL: r.GetCoverUrl(),
		Category: r.GetCategory(), AnchorName: r.GetAnchorName()})
	if err != nil {
		return nil, h.code(err)
	}
	return connect.NewResponse(&tidev1.CreateRoomResponse{Room: roomProto(room)}), nil
}

// UpdateRoom replaces a room's card.
func (h *Handler) UpdateRoom(ctx context.Context, req *connect.Request[tidev1.UpdateRoomRequest]) (*connect.Response[tidev1.UpdateRoomResponse], error) {
	m, err := auth.MerchantOf(ctx)
	if err != nil {
		return nil, err
	}
	r := req.Msg.GetRoom()
	if r.GetRoomId() == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("room.room_id: is empty"))
	}
	room, err := h.reg.UpdateRoom(ctx, m, live.Room{ID: r.GetRoomId(), Title: r.GetTitle(), CoverURL: r.GetCoverUrl(),
		Category: r.GetCategory(), AnchorName: r.GetAnchorName()})
	if err != nil {
		return nil, h.code(err)
	}
	return connect.NewResponse(&tidev1.UpdateRoomResponse{Room: roomProto(room)}), nil
}

// ListRooms lists the calling merchant's rooms and their sessions.
func (h *Handler) ListRooms(ctx context.Context, _ *connect.Request[tidev1.ListRoomsRequest]) (*connect.Response[tidev1.ListRoomsResponse], error) {
	m, err := auth.MerchantOf(ctx)
	if err != nil {
		return nil, err
	}
	rooms, err := h.reg.Rooms(ctx, m)
	if err != nil {
		return nil, h.code(err)
	}
	out := &tidev1.ListRoomsResponse{}
	for _, room := range rooms {
		ss, err := h.reg.Sessions(ctx, room.ID)
		if err != nil {
			return nil, h.code(err)
		}
		rw := &tidev1.RoomWithSessions{Room: roomProto(room)}
		for _, s := range ss {
			rw.Sessions = append(rw.Sessions, sessionProto(s))
		}
		out.Rooms = append(out.Rooms, rw)
	}
	return connect.NewResponse(out), nil
}

// ScheduleSession announces a session of a room of the calling merchant.
func (h *Handler) ScheduleSession(ctx context.Context, req *connect.Request[tidev1.ScheduleSessionRequest]) (*connect.Response[tidev1.ScheduleSessionResponse], error) {
	m, err := auth.MerchantOf(ctx)
	if err != nil {
		return nil, err
	}
	r := req.Msg
	if r.GetRoomId() == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("room_id: is empty"))
	}
	s, err := h.reg.ScheduleSession(ctx, m, r.GetRoomId(), millis(r.GetStartTime()), millis(r.GetEndTime()))
	if err != nil {
		return nil, h.code(err)
	}
	return connect.NewResponse(&tidev1.ScheduleSessionResponse{Session: sessionProto(s)}), nil
}

// CancelSession cancels a scheduled session.
func (h *Handler) CancelSession(ctx context.Context, req *connect.Request[tidev1.CancelSessionRequest]) (*connect.Response[tidev1.CancelSessionResponse], error) {
	m, err := auth.MerchantOf(ctx)
	if err != nil {
		return nil, err
	}
	s, err := h.reg.CancelSession(ctx, m, req.Msg.GetSessionId())
	if err != nil {
		return nil, h.code(err)
	}
	return connect.NewResponse(&tidev1.CancelSessionResponse{Session: sessionProto(s)}), nil
}

// EndSession ends a live or paused session.
func (h *Handler) EndSession(ctx context.Context, req *connect.Request[tidev1.EndSessionRequest]) (*connect.Response[tidev1.EndSessionResponse], error) {
	m, err := auth.MerchantOf(ctx)
	if err != nil {
		return nil, err
	}
	s, err := h.reg.EndSession(ctx, m, req.Msg.GetSessionId())
	if err != nil {
		return nil, h.code(err)
	}
	return connect.NewResponse(&tidev1.EndSessionResponse{Session: sessionProto(s)}), nil
}

// SetShelf replaces a room's shelf with the merchant's own products.
func (h *Handler) SetShelf(ctx context.Context, req *connect.Request[tidev1.SetShelfRequest]) (*connect.Response[tidev1.SetShelfResponse], error) {
	m, err := auth.MerchantOf(ctx)
	if err != nil {
		return nil, err
	}
	ids := req.Msg.GetProductIds()
	if err := live.ValidateShelf(ids); err != nil {
		return nil, h.code(err)
	}
	room, err := h.reg.Room(ctx, req.Msg.GetRoomId())
	if err != nil {
		return nil, h.code(err)
	}
	if room.MerchantID != m {
		return nil, h.code(fmt.Errorf("room %q belongs to another merchant: %w", room.ID, live.ErrPermission))
	}
	products, err := h.products(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		p, ok := products[id]
		switch {
		case !ok:
			return nil, h.code(live.Invalid("product_ids", "product %q is not in the catalog", id))
		case p.MerchantID != m:
			return nil, h.code(live.Invalid("product_ids", "product %q belongs to another merchant", id))
		case p.Status != commerce.OnShelf:
			return nil, h.code(live.Invalid("product_ids", "product %q is off the shelf in the catalog", id))
		}
	}
	lines, err := h.reg.SetShelf(ctx, m, room.ID, ids)
	if err != nil {
		return nil, h.code(err)
	}
	return connect.NewResponse(&tidev1.SetShelfResponse{Shelf: shelfProto(lines, products)}), nil
}

// SetExplaining marks the product being explained.
func (h *Handler) SetExplaining(ctx context.Context, req *connect.Request[tidev1.SetExplainingRequest]) (*connect.Response[tidev1.SetExplainingResponse], error) {
	m, err := auth.MerchantOf(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.reg.SetExplaining(ctx, m, req.Msg.GetRoomId(), req.Msg.GetProductId()); err != nil {
		return nil, h.code(err)
	}
	return connect.NewResponse(&tidev1.SetExplainingResponse{}), nil
}

// PushURL returns the signed push address of a session that is not over.
func (h *Handler) PushURL(ctx context.Context, req *connect.Request[tidev1.PushURLRequest]) (*connect.Response[tidev1.PushURLResponse], error) {
	m, err := auth.MerchantOf(ctx)
	if err != nil {
		return nil, err
	}
	s, err := h.reg.Session(ctx, req.Msg.GetSessionId())
	switch {
	case err != nil:
		return nil, h.code(err)
	case s.MerchantID != m:
		return nil, h.code(fmt.Errorf("session %q belongs to another merchant: %w", s.ID, live.ErrPermission))
	case s.State.Over():
		return nil, h.code(fmt.Errorf("session_id: the session is %s: %w", s.State, live.ErrPrecondition))
	case h.reg.Provider() == nil:
		return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New("no streaming provider is configured on this server"))
	}
	exp := h.now().Add(h.pushTTL)
	u, err := h.reg.Provider().PushURL(s.Stream, exp)
	if err != nil {
		return nil, h.code(err)
	}
	return connect.NewResponse(&tidev1.PushURLResponse{PushUrl: u, ExpiresAt: exp.UnixMilli()}), nil
}

// products reads ids from the catalog, by id.
func (h *Handler) products(ctx context.Context, ids []string) (map[string]commerce.Product, error) {
	out := make(map[string]commerce.Product, len(ids))
	if len(ids) == 0 || h.catalog == nil {
		return out, nil
	}
	ps, err := h.catalog.Products(ctx, ids)
	if err != nil {
		return nil, h.code(err)
	}
	for _, p := range ps {
		out[p.ID] = p
	}
	return out, nil
}

// code turns a registry error into a Connect error.
func (h *Handler) code(err error) error {
	var fe *live.FieldError
	switch {
	case errors.As(err, &fe):
		return connect.NewError(connect.CodeInvalidArgument, fe)
	case errors.Is(err, live.ErrPermission):
		return connect.NewError(connect.CodePermissionDenied, err)
	case errors.Is(err, live.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, live.ErrPrecondition):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, live.ErrInvalid):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeCanceled, err)
	}
	h.log.Error("live service", "err", err)
	return connect.NewError(connect.CodeInternal, errors.New("live registry failed"))
}

func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
