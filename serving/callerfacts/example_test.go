package callerfacts_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/callerfacts"
)

// A handler that produces events for its caller (Track, checkout's order
// events) stamps the caller's facts from the request: in a Connect handler
// the peer is req.Peer().Addr and the headers req.Header().
func ExampleFacts_Stamp() {
	stamper, _ := callerfacts.New(nil, []byte("the shared TIDE_IP_HASH_KEY bytes"))
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{
		Role: auth.RoleUser, UserID: "u_a", AccountCreated: time.UnixMilli(1_764_000_000_000)})

	order := &tidev1.Event{Type: tidev1.EventType_EVENT_TYPE_ORDER_CREATED,
		Attrs: map[string]string{"order_id": "o1", "ip": "what the client claimed"}}
	stamper.Facts(ctx, "203.0.113.7:50123", http.Header{}).Stamp(order)
	fmt.Println(order.Attrs["ip"][:4], order.Attrs["ip"] != "what the client claimed", order.Attrs["acct_created"])
	// Output: iph_ true 1764000000000
}
