package feed

import (
	"context"
	"errors"
	"net/http"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
)

// Handler is the FeedService Connect handler: it takes the viewer from the
// caller's credentials (auth.PrincipalFrom) and calls the Service.
type Handler struct {
	tidev1connect.UnimplementedFeedServiceHandler
	svc   *Service
	pages pagePools
}

// NewHandler returns the Connect handler of svc.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

// Mount returns the path and HTTP handler of the FeedService, for
// serving.Server.Mount (pass the server's ConnectOptions). The handler
// reuses the memory of room feed responses once they are written.
func (h *Handler) Mount(opts ...connect.HandlerOption) (string, http.Handler) {
	path, hh := tidev1connect.NewFeedServiceHandler(h, opts...)
	return path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.pages.serve(hh, w, r) })
}

var (
	errNoCaller = errors.New("feeds are personal: sign in (a user session token) first")
	errNoViewer = errors.New("feeds are for viewers: call with a user session token, not a merchant or admin key")
)

// viewer is the user the feed is for: the signed-in user of the call.
func viewer(ctx context.Context) (string, error) {
	p, ok := auth.PrincipalFrom(ctx)
	switch {
	case !ok || p.Role == auth.RoleAnonymous:
		return "", connect.NewError(connect.CodeUnauthenticated, errNoCaller)
	case p.UserID == "":
		return "", connect.NewError(connect.CodePermissionDenied, errNoViewer)
	}
	return p.UserID, nil
}

// Rooms implements FeedService.Rooms.
func (h *Handler) Rooms(ctx context.Context, req *connect.Request[tidev1.RoomsRequest]) (*connect.Response[tidev1.RoomsResponse], error) {
	u, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	res, err := h.svc.rooms(ctx, u, req.Msg, h.pages.page(ctx))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(res), nil
}

// Products implements FeedService.Products.
func (h *Handler) Products(ctx context.Context, req *connect.Request[tidev1.ProductsRequest]) (*connect.Response[tidev1.ProductsResponse], error) {
	u, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	res, err := h.svc.Products(ctx, u, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(res), nil
}

// Similar implements FeedService.Similar.
func (h *Handler) Similar(ctx context.Context, req *connect.Request[tidev1.SimilarRequest]) (*connect.Response[tidev1.SimilarResponse], error) {
	u, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	res, err := h.svc.Similar(ctx, u, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(res), nil
}
