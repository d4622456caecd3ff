package feed

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
)

// testAuth is a stand-in for the real auth interceptor: the X-Test-User
// header names the signed-in user.
func testAuth() connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if u := req.Header().Get("X-Test-User"); u != "" {
				ctx = auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleUser, UserID: u})
			}
			if m := req.Header().Get("X-Test-Merchant"); m != "" {
				ctx = auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleMerchant, MerchantID: m})
			}
			return next(ctx, req)
		}
	})
}

func serve(t *testing.T, w *world) (tidev1connect.FeedServiceClient, string) {
	t.Helper()
	srv := serving.New()
	opts := append(srv.ConnectOptions(), connect.WithInterceptors(testAuth()))
	srv.Mount(NewHandler(w.svc).Mount(opts...))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return tidev1connect.NewFeedServiceClient(ts.Client(), ts.URL), ts.URL
}

func as[T any](user string, msg *T) *connect.Request[T] {
	r := connect.NewRequest(msg)
	if user != "" {
		r.Header().Set("X-Test-User", user)
	}
	return r
}

func TestHandlerOverConnect(t *testing.T) {
	w := newWorld(t)
	w.cat.PutProducts(ProductInfo{ID: "p1", MerchantID: "m00", Category: "女装"})
	w.svc.Refresh()
	cl, url := serve(t, w)
	ctx := context.Background()
	res, err := cl.Rooms(ctx, as("lee", &tidev1.RoomsRequest{PageSize: 5, Explain: true}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Msg.GetItems()); n != 5 || res.Msg.GetRequestId() == "" || res.Msg.GetNextCursor() == "" {
		t.Fatalf("rooms over Connect: %d items, request_id %q", n, res.Msg.GetRequestId())
	}
	for _, it := range res.Msg.GetItems() {
		if len(it.GetReasons()) == 0 {
			t.Errorf("%s has no reasons with explain", it.GetRoomId())
		}
	}
	res, _ = cl.Rooms(ctx, as("lee", &tidev1.RoomsRequest{PageSize: 5}))
	for _, it := range res.Msg.GetItems() {
		if len(it.GetReasons()) != 0 || it.GetScore() != 0 {
			t.Errorf("%s has reasons or a score without explain", it.GetRoomId())
		}
	}

	for _, tc := range []struct {
		name string
		call func() error
		code connect.Code
		msg  string
	}{
		{"no caller", func() error { _, err := cl.Rooms(ctx, as("", &tidev1.RoomsRequest{})); return err }, connect.CodeUnauthenticated, "sign in"},
		{"page size", func() error {
			_, err := cl.Rooms(ctx, as("lee", &tidev1.RoomsRequest{PageSize: 500}))
			return err
		}, connect.CodeInvalidArgument, "page_size: 500"},
		{"negative page size", func() error {
			_, err := cl.Products(ctx, as("lee", &tidev1.ProductsRequest{PageSize: -1}))
			return err
		}, connect.CodeInvalidArgument, "page_size"},
		{"cursor", func() error {
			_, err := cl.Rooms(ctx, as("lee", &tidev1.RoomsRequest{Cursor: "garbage"}))
			return err
		}, connect.CodeInvalidArgument, "cursor"},
		{"unknown room shelf", func() error {
			_, err := cl.Products(ctx, as("lee", &tidev1.ProductsRequest{RoomId: "room-nope"}))
			return err
		}, connect.CodeNotFound, `"room-nope"`},
		{"similar both", func() error {
			_, err := cl.Similar(ctx, as("lee", &tidev1.SimilarRequest{RoomId: "room-01", ProductId: "p1"}))
			return err
		}, connect.CodeInvalidArgument, "exactly one"},
		{"similar neither", func() error { _, err := cl.Similar(ctx, as("lee", &tidev1.SimilarRequest{})); return err }, connect.CodeInvalidArgument, "exactly one"},
		{"similar unknown room", func() error {
			_, err := cl.Similar(ctx, as("lee", &tidev1.SimilarRequest{RoomId: "room-nope"}))
			return err
		}, connect.CodeNotFound, "room-nope"},
		{"similar unknown product", func() error {
			_, err := cl.Similar(ctx, as("lee", &tidev1.SimilarRequest{ProductId: "p-nope"}))
			return err
		}, connect.CodeNotFound, "p-nope"},
		{"merchant key", func() error {
			r := as("", &tidev1.RoomsRequest{})
			r.Header().Set("X-Test-Merchant", "m01")
			_, err := cl.Rooms(ctx, r)
			return err
		}, connect.CodePermissionDenied, "for viewers"},
		{"anonymous similar", func() error {
			_, err := cl.Similar(ctx, as("", &tidev1.SimilarRequest{RoomId: "room-01"}))
			return err
		}, connect.CodeUnauthenticated, ""},
	} {
		err := tc.call()
		if connect.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %v with %q", tc.name, err, tc.code, tc.msg)
		}
	}

	// The mini-program's wx.request speaks Connect JSON over HTTP/1.1.
	req, _ := http.NewRequest("POST", url+tidev1connect.FeedServiceRoomsProcedure, strings.NewReader(`{"pageSize": 2}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-User", "lee")
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	if hr.StatusCode != 200 || !strings.Contains(string(body), `"requestId"`) || !strings.Contains(string(body), `"position":1`) {
		t.Errorf("JSON: %d %s", hr.StatusCode, body)
	}
}
