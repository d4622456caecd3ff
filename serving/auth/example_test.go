package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
)

// A merchant's API key reaches a handler as an auth.Principal scoped to its
// merchant; a call without credentials is refused before any handler runs.
func ExampleInterceptor() {
	const key = "tk_example_merchant_key"
	keys, _ := auth.ParseKeyFile(strings.NewReader(auth.HashAPIKey(key).String() + " merchant m42 dashboard"))
	tokens, _ := auth.NewTokens([]auth.SigningKey{{ID: "k1", Secret: []byte("an example secret of 32+ bytes..")}})
	interceptor := auth.NewInterceptor(auth.NewAuthenticator(tokens, keys))

	// Any Connect service mounted with the interceptor; here AuthService,
	// whose WhoAmI echoes the principal.
	svc := auth.NewService(auth.NewWeChat("wxappid", "secret"), "wxappid", tokens)
	mux := http.NewServeMux()
	mux.Handle(svc.Handler(connect.WithInterceptors(interceptor)))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := tidev1connect.NewAuthServiceClient(srv.Client(), srv.URL)

	req := connect.NewRequest(&tidev1.WhoAmIRequest{})
	req.Header().Set("Authorization", "Bearer "+key)
	res, err := client.WhoAmI(context.Background(), req)
	fmt.Println(res.Msg.GetRole(), res.Msg.GetMerchantId(), err)

	_, err = client.WhoAmI(context.Background(), connect.NewRequest(&tidev1.WhoAmIRequest{}))
	fmt.Println(connect.CodeOf(err))
	// Output:
	// ROLE_MERCHANT m42 <nil>
	// unauthenticated
}
