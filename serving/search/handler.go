// Package search serves product search over Connect: the SearchService
// handler (Search, Suggest), a thin layer over a search.Index that maps
// requests and responses and turns errors into Connect codes.
//
// The index is held behind an atomic pointer: Swap puts a new one (built
// in the background at start, or rebuilt) in place without blocking a
// search; until the first one is in place searches answer unavailable.
package search

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/search"
)

var (
	errNotReady = errors.New("the search index is still being built; retry shortly")
	errInternal = errors.New("search failed")
)

// Handler is the SearchService Connect handler. It is safe for concurrent
// use.
type Handler struct {
	tidev1connect.UnimplementedSearchServiceHandler
	ix        atomic.Pointer[search.Index]
	log       *slog.Logger
	reqPrefix string
	reqSeq    atomic.Uint64
}

// Option configures NewHandler.
type Option func(*Handler)

// WithLogger sets the logger for failed searches (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// NewHandler returns a handler serving ix; ix may be nil until Swap.
func NewHandler(ix *search.Index, opts ...Option) *Handler {
	h := &Handler{log: slog.Default()}
	for _, o := range opts {
		o(h)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	h.reqPrefix = "s" + hex.EncodeToString(b[:])
	if ix != nil {
		h.ix.Store(ix)
	}
	return h
}

// Swap serves ix from now on and returns the index served before (nil at
// first); the caller closes it. Searches running on the old index finish
// there; a search that catches it closing is retried on ix.
func (h *Handler) Swap(ix *search.Index) *search.Index { return h.ix.Swap(ix) }

// Index is the index being served, or nil.
func (h *Handler) Index() *search.Index { return h.ix.Load() }

// Ready reports whether an index is being served, for a readiness check.
func (h *Handler) Ready(context.Context) error {
	if h.ix.Load() == nil {
		return errNotReady
	}
	return nil
}

// Mount returns the path and HTTP handler of the SearchService, for
// serving.Server.Mount (pass the server's ConnectOptions).
func (h *Handler) Mount(opts ...connect.HandlerOption) (string, http.Handler) {
	return tidev1connect.NewSearchServiceHandler(h, opts...)
}

// Search implements SearchService.Search.
func (h *Handler) Search(ctx context.Context, req *connect.Request[tidev1.SearchRequest]) (*connect.Response[tidev1.SearchResponse], error) {
	sreq, err := searchRequest(req.Msg)
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	id := h.requestID()
	var resp *search.Response
	err = h.withIndex(func(ix *search.Index) (err error) {
		resp, err = ix.Search(ctx, sreq)
		return err
	})
	if err != nil {
		return nil, h.connectError(ctx, err, id, "search", "query", req.Msg.GetQuery())
	}
	return connect.NewResponse(searchResponse(id, req.Msg, sreq, resp)), nil
}

// Suggest implements SearchService.Suggest.
func (h *Handler) Suggest(ctx context.Context, req *connect.Request[tidev1.SuggestRequest]) (*connect.Response[tidev1.SuggestResponse], error) {
	id := h.requestID()
	var got []search.Suggestion
	err := h.withIndex(func(ix *search.Index) (err error) {
		got, err = ix.Suggest(ctx, req.Msg.GetPrefix(), int(req.Msg.GetLimit()))
		return err
	})
	if err != nil {
		return nil, h.connectError(ctx, err, id, "suggest", "prefix", req.Msg.GetPrefix())
	}
	out := &tidev1.SuggestResponse{RequestId: id, Suggestions: make([]*tidev1.SearchSuggestion, len(got))}
	for i, s := range got {
		out.Suggestions[i] = &tidev1.SearchSuggestion{Text: s.Text, Popularity: s.Popularity}
	}
	return connect.NewResponse(out), nil
}

// withIndex runs f on the served index, once more on the next one if the
// index closed under it (swapped out by a rebuild).
func (h *Handler) withIndex(f func(*search.Index) error) error {
	for try := 0; ; try++ {
		ix := h.ix.Load()
		if ix == nil {
			return errNotReady
		}
		err := f(ix)
		if errors.Is(err, search.ErrClosed) && try == 0 && h.ix.Load() != ix {
			continue
		}
		return err
	}
}

// connectError maps an index error to a Connect error: the caller's
// mistakes are invalid_argument with the index's message, everything else
// is logged and internal.
func (h *Handler) connectError(ctx context.Context, err error, requestID, op, key, text string) error {
	switch {
	case errors.Is(err, search.ErrInvalidQuery):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, errNotReady), errors.Is(err, search.ErrClosed):
		return connect.NewError(connect.CodeUnavailable, errNotReady)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	h.log.ErrorContext(ctx, op+" failed", "request_id", requestID, key, text, "err", err)
	return connect.NewError(connect.CodeInternal, fmt.Errorf("%w (request %s)", errInternal, requestID))
}

func (h *Handler) requestID() string {
	return fmt.Sprintf("%s-%x", h.reqPrefix, h.reqSeq.Add(1))
}
