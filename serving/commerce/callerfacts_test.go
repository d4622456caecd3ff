package commerce_test

import (
	"context"
	"net/netip"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// outboxEvents decodes the outbox's events of one type.
func outboxEvents(t *testing.T, r *rig, typ string) []*tidev1.Event {
	t.Helper()
	rows, err := r.store.Pool().Query(context.Background(), `SELECT payload FROM event_outbox WHERE event_type = $1 ORDER BY id`, typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*tidev1.Event
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		e := &tidev1.Event{}
		if err := proto.Unmarshal(b, e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The order events of Submit and CancelOrder carry the caller's facts as
// Track stamps them: the client IP's keyed hash and the account's creation
// time, whatever the client put in the request.
func TestOrderEventsCarryCallerFacts(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	items := []*tidev1.LineItem{{SkuId: "p1-a", Quantity: 1}}
	sub, err := r.client.Submit(ctx, user("u1", &tidev1.SubmitRequest{Items: items, RoomId: "r1", IdempotencyKey: "facts-1"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.CancelOrder(ctx, user("u1", &tidev1.CancelOrderRequest{OrderId: sub.Msg.GetOrder().GetId()})); err != nil {
		t.Fatal(err)
	}
	wantIP := r.facts.HashIP(netip.MustParseAddr("127.0.0.1")) // httptest's client connects from loopback
	wantCreated := strconv.FormatInt(accountCreated.UnixMilli(), 10)
	for _, typ := range []string{"order_created", "order_cancelled"} {
		evs := outboxEvents(t, r, typ)
		if len(evs) != 1 {
			t.Fatalf("%d %s events, want 1", len(evs), typ)
		}
		a := evs[0].GetAttrs()
		if a["ip"] != wantIP || a["acct_created"] != wantCreated {
			t.Errorf("%s attrs ip=%q acct_created=%q, want %q and %q", typ, a["ip"], a["acct_created"], wantIP, wantCreated)
		}
		if a["order_id"] != sub.Msg.GetOrder().GetId() {
			t.Errorf("%s lost its order_id: %v", typ, a)
		}
	}
}
