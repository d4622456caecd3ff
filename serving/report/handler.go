// Package report serves ReportService, the merchant back office, over
// Connect: it takes the merchant from the caller's credentials, checks the
// request, runs the queries of a Reports implementation (chreport over
// ClickHouse) and turns A/B sums into estimates with abstat.
package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/report/chreport"
)

// Limits on requests.
const (
	MaxRangeDays      = 92 // days of a date range
	MaxWindowMinutes  = 60 // LiveNow's window
	defaultWindow     = 5
	defaultExperiment = 14 // days of an experiment report without dates
	maxIDLen          = 128
)

// Reports is what the handler reads; *chreport.Store implements it. Every
// method is scoped by the merchant id given, which the handler took from
// credentials. ErrNotFound (chreport.ErrNotFound) means no such data for
// that merchant.
type Reports interface {
	Rooms(ctx context.Context, merchantID string) ([]*tidev1.RoomSummary, error)
	LiveNow(ctx context.Context, merchantID, roomID string, window int) (*tidev1.LiveNowResponse, error)
	Session(ctx context.Context, merchantID, roomID, sessionID string) (*tidev1.SessionReportResponse, error)
	Products(ctx context.Context, sc chreport.Scope) ([]*tidev1.ProductRow, error)
	Daily(ctx context.Context, merchantID, roomID string, fromDay, toDay int64) ([]*tidev1.DayRow, error)
	Experiment(ctx context.Context, sc chreport.Scope, experiment string) ([]chreport.ArmSums, error)
}

// Handler is the ReportService Connect handler. Safe for concurrent use.
type Handler struct {
	tidev1connect.UnimplementedReportServiceHandler
	r   Reports
	log *slog.Logger
	now func() time.Time
}

// Option configures NewHandler.
type Option func(*Handler)

// WithLogger sets the logger for failed queries (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithClock sets the clock for default date ranges (tests).
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// NewHandler serves the reports r computes.
func NewHandler(r Reports, opts ...Option) *Handler {
	h := &Handler{r: r, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Mount returns the path and HTTP handler of ReportService.
func (h *Handler) Mount(opts ...connect.HandlerOption) (string, http.Handler) {
	return tidev1connect.NewReportServiceHandler(h, opts...)
}

// merchant is the merchant a call reads: the key's own for a merchant (a
// body merchant_id must be empty or the same), the named one for an admin.
func merchant(ctx context.Context, named string) (string, error) {
	if named == "" {
		return auth.MerchantOf(ctx)
	}
	if _, err := auth.RequireMerchant(ctx, named); err != nil {
		return "", err
	}
	return named, nil
}

func invalid(field, format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(field+": "+format, args...))
}

func checkID(field, v string, required bool) error {
	switch {
	case v == "" && required:
		return invalid(field, "is required")
	case len(v) > maxIDLen:
		return invalid(field, "is longer than %d bytes", maxIDLen)
	}
	return nil
}

// queryError maps a Reports error to a Connect error.
func (h *Handler) queryError(ctx context.Context, op string, err error) error {
	if errors.Is(err, chreport.ErrNotFound) {
		return connect.NewError(connect.CodeNotFound, err)
	}
	if ctx.Err() != nil {
		return connect.NewError(connect.CodeCanceled, ctx.Err())
	}
	h.log.ErrorContext(ctx, "report query failed", "op", op, "err", err)
	return connect.NewError(connect.CodeUnavailable, errors.New("the report store did not answer; retry shortly"))
}

// ListRoomSessions lists the merchant's rooms.
func (h *Handler) ListRoomSessions(ctx context.Context, req *connect.Request[tidev1.ListRoomSessionsRequest]) (*connect.Response[tidev1.ListRoomSessionsResponse], error) {
	m, err := merchant(ctx, req.Msg.GetMerchantId())
	if err != nil {
		return nil, err
	}
	rooms, err := h.r.Rooms(ctx, m)
	if err != nil {
		return nil, h.queryError(ctx, "rooms", err)
	}
	return connect.NewResponse(&tidev1.ListRoomSessionsResponse{Rooms: rooms}), nil
}

// LiveNow is a room's live dashboard.
func (h *Handler) LiveNow(ctx context.Context, req *connect.Request[tidev1.LiveNowRequest]) (*connect.Response[tidev1.LiveNowResponse], error) {
	m, err := merchant(ctx, req.Msg.GetMerchantId())
	if err != nil {
		return nil, err
	}
	if err := checkID("room_id", req.Msg.GetRoomId(), true); err != nil {
		return nil, err
	}
	w := int(req.Msg.GetWindowMinutes())
	switch {
	case w == 0:
		w = defaultWindow
	case w < 0 || w > MaxWindowMinutes:
		return nil, invalid("window_minutes", "%d is outside 1..%d", w, MaxWindowMinutes)
	}
	resp, err := h.r.LiveNow(ctx, m, req.Msg.GetRoomId(), w)
	if err != nil {
		return nil, h.queryError(ctx, "live_now", err)
	}
	return connect.NewResponse(resp), nil
}

// SessionReport is one session's report.
func (h *Handler) SessionReport(ctx context.Context, req *connect.Request[tidev1.SessionReportRequest]) (*connect.Response[tidev1.SessionReportResponse], error) {
	m, err := merchant(ctx, req.Msg.GetMerchantId())
	if err != nil {
		return nil, err
	}
	if err := checkID("live_session_id", req.Msg.GetLiveSessionId(), true); err != nil {
		return nil, err
	}
	if err := checkID("room_id", req.Msg.GetRoomId(), false); err != nil {
		return nil, err
	}
	resp, err := h.r.Session(ctx, m, req.Msg.GetRoomId(), req.Msg.GetLiveSessionId())
	if err != nil {
		return nil, h.queryError(ctx, "session", err)
	}
	return connect.NewResponse(resp), nil
}

// ProductReport is the per-product report of a session or a date range.
func (h *Handler) ProductReport(ctx context.Context, req *connect.Request[tidev1.ProductReportRequest]) (*connect.Response[tidev1.ProductReportResponse], error) {
	m, err := merchant(ctx, req.Msg.GetMerchantId())
	if err != nil {
		return nil, err
	}
	sc := chreport.Scope{MerchantID: m, RoomID: req.Msg.GetRoomId(), SessionID: req.Msg.GetLiveSessionId()}
	if err := checkID("live_session_id", sc.SessionID, false); err != nil {
		return nil, err
	}
	if err := checkID("room_id", sc.RoomID, false); err != nil {
		return nil, err
	}
	if sc.SessionID == "" || req.Msg.GetFromDate() != "" || req.Msg.GetToDate() != "" {
		from, to, err := dateRange(req.Msg.GetFromDate(), req.Msg.GetToDate())
		if err != nil {
			return nil, err
		}
		sc.From, sc.To = chreport.DayStart(from), chreport.DayStart(to+1)
	}
	ps, err := h.r.Products(ctx, sc)
	if err != nil {
		return nil, h.queryError(ctx, "products", err)
	}
	return connect.NewResponse(&tidev1.ProductReportResponse{Products: ps, OrdersSource: chreport.OrdersSource()}), nil
}

// DailyReport is the merchant's figures per Shanghai day.
func (h *Handler) DailyReport(ctx context.Context, req *connect.Request[tidev1.DailyReportRequest]) (*connect.Response[tidev1.DailyReportResponse], error) {
	m, err := merchant(ctx, req.Msg.GetMerchantId())
	if err != nil {
		return nil, err
	}
	if err := checkID("room_id", req.Msg.GetRoomId(), false); err != nil {
		return nil, err
	}
	from, to, err := dateRange(req.Msg.GetFromDate(), req.Msg.GetToDate())
	if err != nil {
		return nil, err
	}
	days, err := h.r.Daily(ctx, m, req.Msg.GetRoomId(), from, to)
	if err != nil {
		return nil, h.queryError(ctx, "daily", err)
	}
	return connect.NewResponse(&tidev1.DailyReportResponse{Days: days, OrdersSource: chreport.OrdersSource()}), nil
}

// dateRange parses from and to (YYYY-MM-DD, Asia/Shanghai) into day numbers.
func dateRange(from, to string) (int64, int64, error) {
	f, err := day("from_date", from)
	if err != nil {
		return 0, 0, err
	}
	t, err := day("to_date", to)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case t < f:
		return 0, 0, invalid("to_date", "%s is before from_date %s", to, from)
	case t-f+1 > MaxRangeDays:
		return 0, 0, invalid("to_date", "the range is %d days, at most %d", t-f+1, MaxRangeDays)
	}
	return f, t, nil
}

func day(field, s string) (int64, error) {
	if s == "" {
		return 0, invalid(field, "is required (YYYY-MM-DD, Asia/Shanghai)")
	}
	t, err := time.ParseInLocation(time.DateOnly, s, chreport.Shanghai)
	if err != nil {
		return 0, invalid(field, "%q is not a date YYYY-MM-DD", s)
	}
	return chreport.ShanghaiDay(t.UnixMilli()), nil
}
