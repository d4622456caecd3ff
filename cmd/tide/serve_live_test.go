package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tide-live/tide/commerce"
	commercepg "github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/ingest/testenv"
	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/streamtest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
)

// A room created and started through LiveService and a provider callback
// shows in FeedService.Rooms with its card and pull URL, its shelf product
// carries its catalog card, and the room leaves the feed after the end.
func TestServeLiveRoomReachesTheFeed(t *testing.T) {
	ls := startLiveServe(t, nil, streamtest.New())
	ctx := context.Background()
	if _, err := ls.store.WriteProducts(ctx, []commerce.Product{{ID: "p1", MerchantID: "m1", Title: "羊绒大衣", PriceFen: 59900,
		Images: []string{"https://img.test/p1.jpg"}}}); err != nil {
		t.Fatal(err)
	}
	lc, fc, ulc := ls.merchant, ls.feed, ls.viewer
	room, err := lc.CreateRoom(ctx, connect.NewRequest(&tidev1.CreateRoomRequest{Title: "冬季上新专场", AnchorName: "小美",
		Category: "女装", CoverUrl: "https://img.test/cover.jpg"}))
	if err != nil {
		t.Fatal(err)
	}
	roomID := room.Msg.Room.RoomId
	if _, err := lc.SetShelf(ctx, connect.NewRequest(&tidev1.SetShelfRequest{RoomId: roomID, ProductIds: []string{"p1"}})); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sess, err := lc.ScheduleSession(ctx, connect.NewRequest(&tidev1.ScheduleSessionRequest{RoomId: roomID,
		StartTime: now.Add(time.Minute).UnixMilli(), EndTime: now.Add(time.Hour).UnixMilli()}))
	if err != nil {
		t.Fatal(err)
	}
	sid := sess.Msg.Session.SessionId
	if _, err := lc.PushURL(ctx, connect.NewRequest(&tidev1.PushURLRequest{SessionId: sid})); err != nil {
		t.Fatal(err)
	}
	// A user token cannot call merchant calls.
	if _, err := ulc.EndSession(ctx, connect.NewRequest(&tidev1.EndSessionRequest{SessionId: sid})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("a user ends a session: %v", err)
	}

	body, _ := json.Marshal(stream.Signal{ID: "cb-1", Kind: stream.KindPublish, Stream: sid, Sequence: "1", At: time.Now()})
	res, err := ls.client.Post(ls.url+liveCallbackPrefix+"test", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("publish callback answered %d", res.StatusCode)
	}

	card := waitRoom(t, fc, roomID, true)
	if card.Title != "冬季上新专场" || card.AnchorName != "小美" || card.CoverUrl != "https://img.test/cover.jpg" ||
		!strings.Contains(card.PullFlv, sid) || !strings.Contains(card.PullHls, ".m3u8") || card.Status != tidev1.RoomStatus_ROOM_STATUS_LIVE ||
		card.LiveSessionId != sid {
		t.Fatalf("room card %v", card)
	}
	prods, err := fc.Products(ctx, connect.NewRequest(&tidev1.ProductsRequest{RoomId: roomID}))
	if err != nil {
		t.Fatal(err)
	}
	if ps := prods.Msg.Items; len(ps) != 1 || ps[0].ProductId != "p1" || ps[0].Title != "羊绒大衣" || ps[0].PriceFen != 59900 ||
		ps[0].ImageUrl != "https://img.test/p1.jpg" {
		t.Fatalf("room's products in the feed: %v", ps)
	}
	waitLiveSearch(t, ls.search, "羊绒大衣", "p1", true) // the shelf enters search's live filter
	if _, err := lc.EndSession(ctx, connect.NewRequest(&tidev1.EndSessionRequest{SessionId: sid})); err != nil {
		t.Fatal(err)
	}
	waitRoom(t, fc, roomID, false)
	waitLiveSearch(t, ls.search, "羊绒大衣", "p1", false) // and leaves it with the room
}

// waitLiveSearch polls SearchService for query with the live filter until
// product is among the hits as shown in a live room (present), or is not
// (a relaxed search may still list it, as not live).
func waitLiveSearch(t *testing.T, sc tidev1connect.SearchServiceClient, query, product string, present bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := sc.Search(context.Background(), connect.NewRequest(&tidev1.SearchRequest{Query: query,
			Filters: &tidev1.SearchFilters{LiveNow: true}}))
		if err != nil && connect.CodeOf(err) != connect.CodeUnavailable { // unavailable: the index is still building
			t.Fatal(err)
		}
		found := false
		if err == nil {
			for _, h := range res.Msg.Hits {
				found = found || (h.ProductId == product && h.LiveNow && h.LiveRoomId != "")
			}
		}
		if found == present {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in search's live filter = %v not reached in 20s (last: %v, %v)", product, present, res, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitRoom polls FeedService.Rooms until roomID is in it as a live, playable
// card (present: its pull URLs come from the registry's loader, which may
// trail the stream_start by a reload) or is not live in it.
func waitRoom(t *testing.T, fc tidev1connect.FeedServiceClient, roomID string, present bool) *tidev1.RoomItem {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := fc.Rooms(context.Background(), connect.NewRequest(&tidev1.RoomsRequest{PageSize: 100}))
		if err != nil {
			t.Fatal(err)
		}
		var found *tidev1.RoomItem
		for _, it := range res.Msg.Items {
			if it.RoomId == roomID && it.Status == tidev1.RoomStatus_ROOM_STATUS_LIVE && (!present || it.PullHls != "") {
				found = it
			}
		}
		if (found != nil) == present {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s present=%v in the feed not reached in 20s (feed: %v)", roomID, present, res.Msg.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// liveServe is a `tide serve` built by newServer with the room registry in
// a fresh PostgreSQL database, a fresh Kafka topic and the given provider,
// and LiveService / FeedService clients of merchant m1 (in the catalog), an
// admin and a viewer.
type liveServe struct {
	url      string
	client   *http.Client
	store    *commercepg.Store
	merchant tidev1connect.LiveServiceClient
	admin    tidev1connect.LiveServiceClient
	viewer   tidev1connect.LiveServiceClient
	feed     tidev1connect.FeedServiceClient
	search   tidev1connect.SearchServiceClient
}

// startLiveServe serves on ln (any free port when nil) until the test ends.
func startLiveServe(t *testing.T, ln net.Listener, prov stream.Provider) *liveServe {
	t.Helper()
	brokers := testenv.Kafka(t)
	store, dsn := pgtest.Store(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := store.PutMerchant(ctx, commerce.Merchant{ID: "m1", Name: "m1"}); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	signing := "k1:" + base64.StdEncoding.EncodeToString(secret)
	t.Setenv("TIDE_POSTGRES_URL", dsn)
	t.Setenv(envAPIKeys, "postgres")
	t.Setenv(envSessionKeys, signing)
	t.Setenv(envRateLimit, "off")
	t.Setenv("TIDE_CLICKHOUSE_ADDR", "")
	var b [4]byte
	_, _ = rand.Read(b[:])
	topic := "tide-test-serve-live-" + hex.EncodeToString(b[:])

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, closeFn, err := newServer(ctx, log, serveConfig{addr: "127.0.0.1:0", brokers: brokers, topic: topic, partitions: 2,
		liveProvider: prov})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	hs := httptest.NewUnstartedServer(srv.Handler())
	if ln != nil {
		hs.Listener.Close()
		hs.Listener = ln
	}
	hs.Start()
	t.Cleanup(hs.Close)

	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	keys := auth.NewPGKeys(pool, log)
	merchantKey, _, err := keys.Create(ctx, auth.RoleMerchant, "m1", "test")
	if err != nil {
		t.Fatal(err)
	}
	adminKey, _, err := keys.Create(ctx, auth.RoleAdmin, "", "test-admin")
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := auth.ParseSigningKeys(signing)
	tokens, _ := auth.NewTokens(sk)
	userToken, _, err := tokens.Issue(auth.UserIDFromOpenID("wxtest", "o-1"))
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(cred string) connect.Option {
		return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, r connect.AnyRequest) (connect.AnyResponse, error) {
				r.Header().Set("Authorization", "Bearer "+cred)
				return next(ctx, r)
			}
		}))
	}
	return &liveServe{url: hs.URL, client: hs.Client(), store: store,
		merchant: tidev1connect.NewLiveServiceClient(hs.Client(), hs.URL, bearer(merchantKey)),
		admin:    tidev1connect.NewLiveServiceClient(hs.Client(), hs.URL, bearer(adminKey)),
		viewer:   tidev1connect.NewLiveServiceClient(hs.Client(), hs.URL, bearer(userToken)),
		feed:     tidev1connect.NewFeedServiceClient(hs.Client(), hs.URL, bearer(userToken)),
		search:   tidev1connect.NewSearchServiceClient(hs.Client(), hs.URL, bearer(userToken)),
	}
}
