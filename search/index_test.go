package search

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestUpdatesVisibleAndRebuild(t *testing.T) {
	ctx := t.Context()
	ix, err := New(ctx, testCatalog()[:6], WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()

	// Upsert: searchable on return (its latency is measured in bench/search).
	p := Product{ID: "n1", MerchantID: "m1", Title: "小米扫地机器人 自动集尘", Brand: "小米/Xiaomi", Category: "家电/扫地机器人", PriceFen: 199900, Sales: 1}
	if err := ix.Upsert(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := ids(search(t, ix, Request{Text: "扫地机器人"})); !slices.Equal(got, []string{"n1"}) {
		t.Fatalf("after upsert: %v", got)
	}
	// Changed title: the old words no longer find it.
	p.Title = "小米洗地机"
	if err := ix.Upsert(ctx, p); err != nil {
		t.Fatal(err)
	}
	if resp := search(t, ix, Request{Text: "自动集尘"}); slices.Contains(ids(resp), "n1") {
		t.Errorf("stale title still matches")
	}
	if err := ix.SetLive(ctx, true, "n1"); err != nil {
		t.Fatal(err)
	}
	if got := ids(search(t, ix, Request{Text: "洗地机", Filters: Filters{LiveOnly: true}})); !slices.Equal(got, []string{"n1"}) {
		t.Errorf("live: %v", got)
	}
	if err := ix.Delete(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := ix.Get("n1"); ok {
		t.Error("deleted product still there")
	}

	// Rebuild from another catalog while searches and writes go on: the
	// write made during the rebuild survives the swap.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := ix.Search(context.Background(), Request{Text: "鞋"}); err != nil {
				t.Errorf("search during rebuild: %v", err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	rebuilt := make(chan error, 1)
	go func() { rebuilt <- ix.Rebuild(ctx, testCatalog()[6:]) }()
	for !rebuilding(ix) {
		time.Sleep(time.Millisecond)
	}
	late := Product{ID: "n2", MerchantID: "m1", Title: "戴森吹风机", Brand: "戴森/Dyson", Category: "家电/吹风机", PriceFen: 299900}
	if err := ix.Upsert(ctx, late); err != nil {
		t.Fatal(err)
	}
	if err := <-rebuilt; err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if _, ok := ix.Get("n2"); !ok {
		t.Error("write during rebuild lost")
	}
	if _, ok := ix.Get("d1"); ok {
		t.Error("product of the old catalog survived the rebuild")
	}
	if top(t, ix, "坚果") != "f2" {
		t.Error("new catalog not searchable")
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Search(ctx, Request{Text: "坚果"}); err != ErrClosed {
		t.Errorf("after close: %v", err)
	}
}

func rebuilding(ix *Index) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.rebuild
}

// A change that leaves the text alone (price, sales, live) only touches the
// doc table, and sorting, filters and facets see it at once.
func TestColumnOnlyUpdates(t *testing.T) {
	ctx := t.Context()
	ix, err := New(ctx, testCatalog())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	p, _ := ix.Get("t05")
	p.PriceFen, p.Sales = 990000, 1_000_000
	if err := ix.Upsert(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := top(t, ix, "T恤"); got != "t05" {
		t.Errorf("best seller after the update: %s", got)
	}
	resp := search(t, ix, Request{Text: "T恤", Sort: SortPriceDesc, Facets: true, Filters: Filters{MinPriceFen: 900000}})
	if got := ids(resp); !slices.Equal(got, []string{"t05"}) {
		t.Errorf("price filter after the update: %v", got)
	}
	if n := resp.Facets.Prices[len(resp.Facets.Prices)-1].Count; n != 1 {
		t.Errorf("top price bucket counts %d", n)
	}
	if resp := search(t, ix, Request{Text: "T恤", Filters: Filters{MerchantID: "nobody", LiveOnly: true}}); resp.Total != 0 {
		t.Errorf("unknown merchant: %d matches (relaxed %v)", resp.Total, resp.Relaxed)
	}

	// Live rooms: the room survives an upsert that keeps LiveNow (as the
	// catalog follower does) and goes with LiveNow.
	if err := ix.SetLiveRoom(ctx, "r9", "t05"); err != nil {
		t.Fatal(err)
	}
	resp = search(t, ix, Request{Text: "T恤", Filters: Filters{LiveOnly: true}})
	if len(resp.Hits) != 1 || resp.Hits[0].Product.LiveRoomID != "r9" {
		t.Fatalf("live room: %+v", resp.Hits)
	}
	p, _ = ix.Get("t05")
	p.LiveRoomID, p.Sales = "", 7
	if err := ix.Upsert(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, _ := ix.Get("t05"); got.LiveRoomID != "r9" || got.Sales != 7 {
		t.Errorf("after a catalog upsert: %+v", got)
	}
	if err := ix.SetLive(ctx, false, "t05"); err != nil {
		t.Fatal(err)
	}
	if got, _ := ix.Get("t05"); got.LiveNow || got.LiveRoomID != "" {
		t.Errorf("after going off air: %+v", got)
	}
}
