package live_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/live/postgres"
	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/streamtest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/auth"
	servinglive "github.com/tide-live/tide/serving/live"
)

type env struct {
	h    *servinglive.Handler
	reg  *postgres.Registry
	prov *streamtest.Provider
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, dsn := pgtest.Store(t)
	ctx := context.Background()
	for _, m := range []string{"m-a", "m-b"} {
		if err := store.PutMerchant(ctx, commerce.Merchant{ID: m, Name: m}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.WriteProducts(ctx, []commerce.Product{
		{ID: "pa1", MerchantID: "m-a", Title: "羊绒大衣", PriceFen: 59900, Images: []string{"https://img.test/pa1.jpg"}},
		{ID: "pa2", MerchantID: "m-a", Title: "围巾", PriceFen: 9900},
		{ID: "pb1", MerchantID: "m-b", Title: "B 的商品", PriceFen: 100},
	}); err != nil {
		t.Fatal(err)
	}
	prov := streamtest.New()
	reg, err := postgres.Open(ctx, dsn, postgres.WithProvider(prov), postgres.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	if err := reg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return &env{h: servinglive.NewHandler(reg, store, servinglive.WithLogger(slog.New(slog.DiscardHandler))), reg: reg, prov: prov}
}

func as(role auth.Role, id string) context.Context {
	p := auth.Principal{Role: role}
	switch role {
	case auth.RoleMerchant:
		p.MerchantID = id
	case auth.RoleUser:
		p.UserID = id
	}
	return auth.WithPrincipal(context.Background(), p)
}

func code(err error) connect.Code {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Code()
	}
	return 0
}

func wantCode(t *testing.T, what string, err error, want connect.Code, field string) {
	t.Helper()
	if code(err) != want {
		t.Errorf("%s: %v, want %s", what, err, want)
		return
	}
	if field != "" && !strings.Contains(err.Error(), field) {
		t.Errorf("%s: %v does not name %s", what, err, field)
	}
}

func (e *env) roomAndSession(t *testing.T, merchant string) (string, string) {
	t.Helper()
	ctx := as(auth.RoleMerchant, merchant)
	room, err := e.h.CreateRoom(ctx, connect.NewRequest(&tidev1.CreateRoomRequest{Title: "冬季上新", CoverUrl: "https://img.test/c.jpg",
		Category: "女装", AnchorName: "小美"}))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, err := e.h.ScheduleSession(ctx, connect.NewRequest(&tidev1.ScheduleSessionRequest{RoomId: room.Msg.Room.RoomId,
		StartTime: now.Add(time.Hour).UnixMilli(), EndTime: now.Add(3 * time.Hour).UnixMilli()}))
	if err != nil {
		t.Fatal(err)
	}
	return room.Msg.Room.RoomId, s.Msg.Session.SessionId
}

func TestOwnershipAndRoles(t *testing.T) {
	e := newEnv(t)
	roomA, sessA := e.roomAndSession(t, "m-a")
	b := as(auth.RoleMerchant, "m-b")
	now := time.Now()
	_, err := e.h.ScheduleSession(b, connect.NewRequest(&tidev1.ScheduleSessionRequest{RoomId: roomA,
		StartTime: now.Add(5 * time.Hour).UnixMilli(), EndTime: now.Add(6 * time.Hour).UnixMilli()}))
	wantCode(t, "B schedules in A's room", err, connect.CodePermissionDenied, "")
	_, err = e.h.EndSession(b, connect.NewRequest(&tidev1.EndSessionRequest{SessionId: sessA}))
	wantCode(t, "B ends A's session", err, connect.CodePermissionDenied, "")
	_, err = e.h.CancelSession(b, connect.NewRequest(&tidev1.CancelSessionRequest{SessionId: sessA}))
	wantCode(t, "B cancels A's session", err, connect.CodePermissionDenied, "")
	_, err = e.h.SetShelf(b, connect.NewRequest(&tidev1.SetShelfRequest{RoomId: roomA, ProductIds: []string{"pb1"}}))
	wantCode(t, "B shelves in A's room", err, connect.CodePermissionDenied, "")
	_, err = e.h.PushURL(b, connect.NewRequest(&tidev1.PushURLRequest{SessionId: sessA}))
	wantCode(t, "B asks A's push URL", err, connect.CodePermissionDenied, "")
	_, err = e.h.SetExplaining(b, connect.NewRequest(&tidev1.SetExplainingRequest{RoomId: roomA}))
	wantCode(t, "B sets explaining in A's room", err, connect.CodePermissionDenied, "")

	user := as(auth.RoleUser, "u1")
	_, err = e.h.CreateRoom(user, connect.NewRequest(&tidev1.CreateRoomRequest{Title: "x"}))
	wantCode(t, "a user creates a room", err, connect.CodePermissionDenied, "")
	_, err = e.h.PushURL(user, connect.NewRequest(&tidev1.PushURLRequest{SessionId: sessA}))
	wantCode(t, "a user asks a push URL", err, connect.CodePermissionDenied, "")
	_, err = e.h.BanSession(as(auth.RoleMerchant, "m-a"), connect.NewRequest(&tidev1.BanSessionRequest{SessionId: sessA, Reason: "x"}))
	wantCode(t, "a merchant bans", err, connect.CodePermissionDenied, "")
	_, err = e.h.ListReviews(user, connect.NewRequest(&tidev1.ListReviewsRequest{}))
	wantCode(t, "a user lists reviews", err, connect.CodePermissionDenied, "")

	// A's own calls work.
	a := as(auth.RoleMerchant, "m-a")
	push, err := e.h.PushURL(a, connect.NewRequest(&tidev1.PushURLRequest{SessionId: sessA}))
	if err != nil || !strings.Contains(push.Msg.PushUrl, sessA) || push.Msg.ExpiresAt <= time.Now().UnixMilli() {
		t.Fatalf("PushURL = %v, %v", push, err)
	}
	rooms, err := e.h.ListRooms(a, connect.NewRequest(&tidev1.ListRoomsRequest{}))
	if err != nil || len(rooms.Msg.Rooms) != 1 || len(rooms.Msg.Rooms[0].Sessions) != 1 {
		t.Fatalf("ListRooms = %v, %v", rooms, err)
	}
	if rooms, _ := e.h.ListRooms(b, connect.NewRequest(&tidev1.ListRoomsRequest{})); len(rooms.Msg.Rooms) != 0 {
		t.Fatalf("B lists A's rooms: %v", rooms.Msg.Rooms)
	}
	// The operator bans; the merchant sees why.
	if _, err := e.h.BanSession(as(auth.RoleAdmin, ""), connect.NewRequest(&tidev1.BanSessionRequest{SessionId: sessA, Reason: "违规"})); err != nil {
		t.Fatal(err)
	}
	rooms, _ = e.h.ListRooms(a, connect.NewRequest(&tidev1.ListRoomsRequest{}))
	if s := rooms.Msg.Rooms[0].Sessions[0]; s.State != tidev1.SessionState_SESSION_STATE_BANNED || !strings.Contains(s.BanReason, "违规") {
		t.Fatalf("banned session %v", s)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	a := as(auth.RoleMerchant, "m-a")
	roomA, sessA := e.roomAndSession(t, "m-a")
	_, err := e.h.CreateRoom(a, connect.NewRequest(&tidev1.CreateRoomRequest{}))
	wantCode(t, "no title", err, connect.CodeInvalidArgument, "title")
	_, err = e.h.CreateRoom(a, connect.NewRequest(&tidev1.CreateRoomRequest{Title: "t", CoverUrl: "ftp://x"}))
	wantCode(t, "bad cover", err, connect.CodeInvalidArgument, "cover_url")
	now := time.Now()
	_, err = e.h.ScheduleSession(a, connect.NewRequest(&tidev1.ScheduleSessionRequest{RoomId: roomA,
		StartTime: now.Add(10 * time.Hour).UnixMilli(), EndTime: now.Add(9 * time.Hour).UnixMilli()}))
	wantCode(t, "end before start", err, connect.CodeInvalidArgument, "end_time")
	_, err = e.h.ScheduleSession(a, connect.NewRequest(&tidev1.ScheduleSessionRequest{RoomId: roomA,
		StartTime: now.Add(-10 * time.Hour).UnixMilli(), EndTime: now.Add(time.Hour).UnixMilli()}))
	wantCode(t, "in the past", err, connect.CodeInvalidArgument, "start_time")
	_, err = e.h.ScheduleSession(a, connect.NewRequest(&tidev1.ScheduleSessionRequest{RoomId: "nope",
		StartTime: now.Add(10 * time.Hour).UnixMilli(), EndTime: now.Add(11 * time.Hour).UnixMilli()}))
	wantCode(t, "unknown room", err, connect.CodeNotFound, "")
	_, err = e.h.SetShelf(a, connect.NewRequest(&tidev1.SetShelfRequest{RoomId: roomA, ProductIds: []string{"pa1", "ghost"}}))
	wantCode(t, "unknown product", err, connect.CodeInvalidArgument, "product_ids")
	_, err = e.h.SetShelf(a, connect.NewRequest(&tidev1.SetShelfRequest{RoomId: roomA, ProductIds: []string{"pb1"}}))
	wantCode(t, "another merchant's product", err, connect.CodeInvalidArgument, "product_ids")
	many := make([]string, 101)
	for i := range many {
		many[i] = "p" + string(rune('A'+i/26)) + string(rune('a'+i%26))
	}
	_, err = e.h.SetShelf(a, connect.NewRequest(&tidev1.SetShelfRequest{RoomId: roomA, ProductIds: many}))
	wantCode(t, "shelf over its limit", err, connect.CodeInvalidArgument, "product_ids")
	_, err = e.h.EndSession(a, connect.NewRequest(&tidev1.EndSessionRequest{SessionId: sessA}))
	wantCode(t, "end a scheduled session", err, connect.CodeFailedPrecondition, "")
	_, err = e.h.SetExplaining(a, connect.NewRequest(&tidev1.SetExplainingRequest{RoomId: roomA, ProductId: "pa2"}))
	wantCode(t, "explain a product not on the shelf", err, connect.CodeFailedPrecondition, "product_id")
	_, err = e.h.ListUpcoming(as(auth.RoleUser, "u"), connect.NewRequest(&tidev1.ListUpcomingRequest{PageSize: 500}))
	wantCode(t, "page_size", err, connect.CodeInvalidArgument, "page_size")
}

// The room page: card, shelf in the merchant's order with the product being
// explained and its catalog card, pull URLs while live, replays after.
func TestGetRoomAndUpcoming(t *testing.T) {
	e := newEnv(t)
	a := as(auth.RoleMerchant, "m-a")
	viewer := as(auth.RoleUser, "u1")
	roomA, sessA := e.roomAndSession(t, "m-a")
	if _, err := e.h.SetShelf(a, connect.NewRequest(&tidev1.SetShelfRequest{RoomId: roomA, ProductIds: []string{"pa2", "pa1"}})); err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.SetExplaining(a, connect.NewRequest(&tidev1.SetExplainingRequest{RoomId: roomA, ProductId: "pa1"})); err != nil {
		t.Fatal(err)
	}
	up, err := e.h.ListUpcoming(viewer, connect.NewRequest(&tidev1.ListUpcomingRequest{}))
	if err != nil || len(up.Msg.Sessions) != 1 || up.Msg.Sessions[0].Room.Title != "冬季上新" || up.Msg.Sessions[0].Session.SessionId != sessA {
		t.Fatalf("ListUpcoming = %v, %v", up, err)
	}
	page, err := e.h.GetRoom(viewer, connect.NewRequest(&tidev1.GetRoomRequest{RoomId: roomA}))
	if err != nil {
		t.Fatal(err)
	}
	m := page.Msg
	if m.Room.AnchorName != "小美" || m.Session.State != tidev1.SessionState_SESSION_STATE_SCHEDULED || m.Pull != nil {
		t.Fatalf("scheduled room page %v", m)
	}
	if len(m.Shelf) != 2 || m.Shelf[0].ProductId != "pa2" || m.Shelf[1].Title != "羊绒大衣" || m.Shelf[1].PriceFen != 59900 ||
		m.Shelf[1].ImageUrl != "https://img.test/pa1.jpg" || !m.Shelf[1].Explaining || m.ExplainingProductId != "pa1" {
		t.Fatalf("shelf %v explaining %q", m.Shelf, m.ExplainingProductId)
	}
	ctx := context.Background()
	if _, err := e.reg.Apply(ctx, stream.Signal{ID: "1", Provider: "test", Kind: stream.KindPublish, Stream: sessA, Sequence: "s1"}); err != nil {
		t.Fatal(err)
	}
	page, _ = e.h.GetRoom(viewer, connect.NewRequest(&tidev1.GetRoomRequest{RoomId: roomA}))
	if p := page.Msg.Pull; p == nil || !strings.HasSuffix(strings.SplitN(p.Flv, "?", 2)[0], ".flv") || p.ExpiresAt <= time.Now().UnixMilli() ||
		page.Msg.Session.State != tidev1.SessionState_SESSION_STATE_LIVE {
		t.Fatalf("live room page %v", page.Msg)
	}
	if _, err := e.h.EndSession(a, connect.NewRequest(&tidev1.EndSessionRequest{SessionId: sessA})); err != nil {
		t.Fatal(err)
	}
	if d := e.prov.Dropped(); len(d) != 1 || d[0] != sessA {
		t.Fatalf("EndSession dropped %v", d)
	}
	if _, err := e.reg.Apply(ctx, stream.Signal{ID: "2", Provider: "test", Kind: stream.KindRecord, Stream: sessA, ReplayURL: "https://vod.test/1.mp4"}); err != nil {
		t.Fatal(err)
	}
	page, _ = e.h.GetRoom(viewer, connect.NewRequest(&tidev1.GetRoomRequest{RoomId: roomA}))
	if page.Msg.Pull != nil || len(page.Msg.Replays) != 1 || page.Msg.Replays[0].Url != "https://vod.test/1.mp4" {
		t.Fatalf("ended room page %v", page.Msg)
	}
}
