package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/ingest/outbox"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
	servingcommerce "github.com/tide-live/tide/serving/commerce"
)

// serveCommerce serves CommerceService on loopback and returns its URL;
// observe hears each flash batch's size.
func serveCommerce(store *postgres.Store, seller *postgres.FlashSeller, observe func(int)) (string, func()) {
	orders := store.Orders(seller, func(ctx context.Context, ex postgres.Execer, evs ...*tidev1.Event) error {
		return outbox.Add(ctx, ex, evs...)
	}, postgres.WithFlashBatchObserver(observe))
	h := servingcommerce.NewHandler(store, orders, seller, servingcommerce.WithLogger(slog.New(slog.DiscardHandler)))
	mux := http.NewServeMux()
	mux.Handle(h.Mount(connect.WithInterceptors(headerCaller())))
	srv := httptest.NewServer(mux)
	return srv.URL, srv.Close
}

// headerCaller names the user from X-Bench-User, in place of the session
// token check (which is not what this bench measures).
func headerCaller() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			u := req.Header().Get("X-Bench-User")
			return next(auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleUser, UserID: u}), req)
		}
	}
}

// submit is one buyer's flash-sale order through the RPC; sold out is
// commerce.ErrSoldOut.
func submit(ctx context.Context, client tidev1connect.CommerceServiceClient, sale string, u int64) error {
	req := connect.NewRequest(&tidev1.SubmitRequest{Items: []*tidev1.LineItem{{SkuId: "hot", Quantity: 1}}, FlashSaleId: sale, IdempotencyKey: fmt.Sprint(sale, "-", u)})
	req.Header().Set("X-Bench-User", fmt.Sprintf("b%d", u))
	res, err := client.Submit(ctx, req)
	if connect.CodeOf(err) == connect.CodeResourceExhausted {
		return commerce.ErrSoldOut
	}
	if err != nil {
		return err
	}
	if !res.Msg.GetCreated() {
		return errors.New("a fresh key returned an old order")
	}
	return nil
}
