package roomfeed_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/live"
	"github.com/tide-live/tide/live/postgres"
	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/streamtest"
	"github.com/tide-live/tide/serving/feed"
	"github.com/tide-live/tide/serving/roomfeed"
)

// Load puts the registry in the catalog: cards with the pull URLs of the
// current session, 预告, shelves in order with their products' cards; Run follows a
// change without a restart.
func TestLoadAndFollow(t *testing.T) {
	store, dsn := pgtest.Store(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_ = store.PutMerchant(ctx, commerce.Merchant{ID: "m1"})
	if _, err := store.WriteProducts(ctx, []commerce.Product{{ID: "p1", MerchantID: "m1", Title: "大衣", PriceFen: 100,
		Images: []string{"https://img.test/p1.jpg"}}, {ID: "p2", MerchantID: "m1", Title: "围巾", PriceFen: 50}}); err != nil {
		t.Fatal(err)
	}
	discard := slog.New(slog.DiscardHandler)
	reg, err := postgres.Open(ctx, dsn, postgres.WithProvider(streamtest.New()), postgres.WithLogger(discard))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := reg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	onAir, _ := reg.CreateRoom(ctx, live.Room{MerchantID: "m1", Title: "直播中", AnchorName: "小美", Category: "女装", CoverURL: "https://img.test/c.jpg"})
	later, _ := reg.CreateRoom(ctx, live.Room{MerchantID: "m1", Title: "预告"})
	now := time.Now()
	s1, err := reg.ScheduleSession(ctx, "m1", onAir.ID, now.Add(time.Minute), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := reg.ScheduleSession(ctx, "m1", later.ID, now.Add(2*time.Hour), now.Add(3*time.Hour))
	if _, err := reg.Apply(ctx, stream.Signal{ID: "1", Provider: "test", Kind: stream.KindPublish, Stream: s1.Stream}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.SetShelf(ctx, "m1", onAir.ID, []string{"p2", "p1"}); err != nil {
		t.Fatal(err)
	}
	cat := feed.NewCatalog()
	sync := roomfeed.New(reg, store, cat, roomfeed.WithLogger(discard))
	if err := sync.Load(ctx); err != nil {
		t.Fatal(err)
	}
	r, ok := cat.Room(onAir.ID)
	if !ok || r.Title != "直播中" || r.AnchorName != "小美" || r.CoverURL != "https://img.test/c.jpg" || r.Category != "女装" ||
		!strings.Contains(r.PullFLV, s1.Stream) || !strings.Contains(r.PullHLS, ".m3u8") {
		t.Fatalf("on-air room card %+v", r)
	}
	if r, _ := cat.Room(later.ID); !strings.Contains(r.PullFLV, s2.Stream) || r.Title != "预告" {
		t.Fatalf("scheduled room card %+v (pull URLs of its next session, ready for when it goes live)", r)
	}
	up := cat.Upcoming(now, now.Add(24*time.Hour))
	if len(up) != 1 || up[0].LiveSessionID != s2.ID || !up[0].Start.Equal(s2.ScheduledStart) {
		t.Fatalf("upcoming %+v", up)
	}
	if l := cat.Lineup(onAir.ID); len(l) != 2 || l[0] != "p2" || l[1] != "p1" {
		t.Fatalf("lineup %v", l)
	}
	if p, ok := cat.Product("p1"); !ok || p.Title != "大衣" || p.PriceFen != 100 || p.ImageURL != "https://img.test/p1.jpg" {
		t.Fatalf("product card %+v", p)
	}

	go sync.Run(ctx)
	if _, err := reg.UpdateRoom(ctx, "m1", live.Room{ID: later.ID, Title: "改名了"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r, _ := cat.Room(later.ID); r.Title == "改名了" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a renamed room did not reach the catalog within 10s (the refresh is a minute: NOTIFY did not wake the syncer)")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
