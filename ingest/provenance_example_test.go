package ingest_test

import (
	"fmt"

	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// An outbox relay tags its records as the server's; the same order_paid in a
// record from Track goes to dead letters.
func ExampleServerRecord() {
	e := &tidev1.Event{EventId: "checkout-outbox-42", Type: tidev1.EventType_EVENT_TYPE_ORDER_PAID, Ts: 1750000000000,
		UserId: "u_1", MerchantId: "m1", Value: 9900, Attrs: map[string]string{"order_id": "o42"}}
	r, err := ingest.ServerRecord(ingest.DefaultEventsTopic, e)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %s\n", r.Headers[0].Key, r.Headers[0].Value)
	fmt.Println("from the server:", ingest.CheckRecord(r.Headers, e.GetType()))
	fmt.Println("from Track:", ingest.CheckRecord(ingest.ProducerHeaders(ingest.ProducerTrack), e.GetType()))
	fmt.Println("a user may send it:", ingest.MaySend(ingest.SenderUser, e.GetType()))
	// Output:
	// tide-producer: server
	// from the server: <nil>
	// from Track: type: order_paid events are produced by checkout's outbox only, not by Track
	// a user may send it: false
}
