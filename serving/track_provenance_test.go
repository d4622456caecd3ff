package serving_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
)

func TestTrackRefusesServerOnlyTypesFromEveryCaller(t *testing.T) {
	callers := map[string]context.Context{
		"user":       auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleUser, UserID: "u1"}),
		"merchant":   auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleMerchant, MerchantID: "m1"}),
		"admin":      auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleAdmin, KeyID: "k"}),
		"in-process": context.Background(),
	}
	serverOnly := []struct {
		typ  tidev1.EventType
		want string
	}{
		{tidev1.EventType_EVENT_TYPE_GIFT, "gift events are produced by the gift payment service"},
		{tidev1.EventType_EVENT_TYPE_ORDER_CREATED, "order_created events are produced by checkout's outbox"},
		{tidev1.EventType_EVENT_TYPE_ORDER_PAID, "order_paid events are produced by checkout's outbox"},
		{tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED, "order_refunded events are produced by checkout's outbox"},
		{tidev1.EventType_EVENT_TYPE_STREAM_START, "stream_start events are produced by the room registry's outbox"},
		{tidev1.EventType_EVENT_TYPE_STREAM_END, "stream_end events are produced by the room registry's outbox"},
		{tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED, "product_changed events are produced by the catalog's outbox"},
		{tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE, "experiment_exposure events are produced by the server's A/B exposure log"},
	}
	for name, ctx := range callers {
		for _, c := range serverOnly {
			t.Run(name+"/"+ingest.TypeName(c.typ), func(t *testing.T) {
				p := &fakeProducer{}
				svc := serving.NewEventService(p, serving.New(serving.WithLogger(slog.New(slog.DiscardHandler))).Registry(),
					serving.WithClock(func() time.Time { return now }))
				forged := &tidev1.Event{EventId: "forged", Type: c.typ, Ts: now.UnixMilli(), UserId: "u1",
					MerchantId: "m1", RoomId: "r1", ProductId: "p1", Value: 500_000_000,
					Attrs: map[string]string{"order_id": "o1"}, Experiments: map[string]string{"x": "a"}}
				_, err := svc.Track(ctx, connect.NewRequest(&tidev1.TrackRequest{Events: []*tidev1.Event{event(1), forged}}))
				if connect.CodeOf(err) != connect.CodePermissionDenied {
					t.Fatalf("got %v, want permission_denied", err)
				}
				if msg := err.Error(); !strings.Contains(msg, "events[1].type: "+c.want) {
					t.Errorf("message %q does not name the field and producer (%q)", msg, c.want)
				}
				if p.count() != 0 {
					t.Errorf("produced %d records of a refused batch", p.count())
				}
			})
		}
	}
}

func TestTrackTakesBehaviourFromEveryCaller(t *testing.T) {
	p := &fakeProducer{}
	svc := serving.NewEventService(p, serving.New(serving.WithLogger(slog.New(slog.DiscardHandler))).Registry(),
		serving.WithClock(func() time.Time { return now }))
	admin := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleAdmin, KeyID: "k"})
	var es []*tidev1.Event
	for i, typ := range []tidev1.EventType{
		tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, tidev1.EventType_EVENT_TYPE_ROOM_ENTER,
		tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, tidev1.EventType_EVENT_TYPE_LIKE, tidev1.EventType_EVENT_TYPE_SHARE,
		tidev1.EventType_EVENT_TYPE_FOLLOW, tidev1.EventType_EVENT_TYPE_UNFOLLOW,
		tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION, tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK,
		tidev1.EventType_EVENT_TYPE_ADD_TO_CART, tidev1.EventType_EVENT_TYPE_SEARCH_CLICK,
	} {
		e := event(i + 1)
		e.Type, e.MerchantId, e.ProductId = typ, "m1", "p1"
		es = append(es, e)
	}
	if _, err := svc.Track(admin, connect.NewRequest(&tidev1.TrackRequest{Events: es})); err != nil {
		t.Fatal(err)
	}
	if p.count() != len(es) {
		t.Fatalf("produced %d of %d", p.count(), len(es))
	}
	for _, r := range p.records {
		if len(r.Headers) != 1 || string(r.Headers[0].Value) != ingest.ProducerTrack {
			t.Errorf("headers %v, want %s: %s", r.Headers, ingest.ProducerHeader, ingest.ProducerTrack)
		}
	}
}
