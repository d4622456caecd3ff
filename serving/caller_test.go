package serving

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/auth"
)

func TestStampCaller(t *testing.T) {
	view := func() *tidev1.Event {
		return &tidev1.Event{EventId: "e1", Type: tidev1.EventType_EVENT_TYPE_ROOM_ENTER, UserId: "someone-else", MerchantId: "m2", RoomId: "r1"}
	}
	user := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleUser, UserID: "u_me"})
	es := []*tidev1.Event{view()}
	if err := stampCaller(user, es); err != nil || es[0].GetUserId() != "u_me" {
		t.Fatalf("user call: err %v, user_id %q; want the caller's id", err, es[0].GetUserId())
	}
	start := &tidev1.Event{EventId: "e2", Type: tidev1.EventType_EVENT_TYPE_STREAM_START, RoomId: "r1"}
	if err := stampCaller(user, []*tidev1.Event{start}); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("user sending stream_start: %v, want permission_denied", err)
	}
	merchant := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleMerchant, MerchantID: "m1"})
	if err := stampCaller(merchant, []*tidev1.Event{view()}); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("merchant m1 sending m2's event: %v, want permission_denied", err)
	}
	admin := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleAdmin})
	es = []*tidev1.Event{view()}
	if err := stampCaller(admin, es); err != nil || es[0].GetUserId() != "someone-else" {
		t.Fatalf("admin call: err %v, user_id %q; want the body kept", err, es[0].GetUserId())
	}
}
