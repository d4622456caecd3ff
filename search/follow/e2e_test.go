package follow_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/commerce/searchfeed"
	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/search"
	"github.com/tide-live/tide/search/follow"
)

// hitIDs searches text and returns the ids found.
func hitIDs(t *testing.T, ix *search.Index, text string) []string {
	t.Helper()
	res, err := ix.Search(context.Background(), search.Request{Text: text})
	if err != nil {
		t.Fatalf("search %q: %v", text, err)
	}
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, h.Product.ID)
	}
	return ids
}

// waitFor polls until cond holds and returns how long that took.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 15*time.Second {
			t.Fatalf("%s: not after %v", what, time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func importLines(t *testing.T, s *postgres.Store, lines ...string) {
	t.Helper()
	r, err := commerce.NewReader(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := commerce.Import(context.Background(), r, s)
	if err != nil || sum.Rejected != 0 {
		t.Fatalf("import: %v %v", sum, err)
	}
}

// TestCatalogChangeBecomesSearchable runs the whole path against real
// PostgreSQL and Kafka: import → outbox → relay → events topic → follower →
// search index.
func TestCatalogChangeBecomesSearchable(t *testing.T) {
	brokers, topic, _ := newTopic(t)
	s, _ := pgtest.Store(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	importLines(t, s,
		`{"id":"bg1","merchant_id":"m01","title":"羊毛围巾","category":"配饰/围巾","price_fen":9900}`,
		`{"id":"bg2","merchant_id":"m02","title":"不锈钢保温杯","category":"家居/杯具","price_fen":5900}`)

	kc, err := outbox.NewKafkaClient(brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	relay := outbox.NewRelay(s.Pool(), kc, outbox.WithTopic(topic))
	relayDone := make(chan error, 1)
	go func() { relayDone <- relay.Run(ctx) }()

	feed := searchfeed.New(s)
	start := time.Now()
	all, err := feed.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := search.New(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	lags := make(chan follow.Applied, 100)
	f, err := follow.New(brokers, feed, ix, follow.WithTopic(topic), follow.StartAt(start),
		follow.OnApply(func(a follow.Applied) { lags <- a }))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	followDone := make(chan error, 1)
	go func() { followDone <- f.Run(ctx) }()
	time.Sleep(500 * time.Millisecond) // let the follower find its partitions

	// A new product.
	t0 := time.Now()
	importLines(t, s, `{"id":"p1","merchant_id":"m01","title":"复古牛仔夹克","brand":"李维斯/Levi's","category":"男装/上衣","price_fen":59900,"attrs":{"颜色":["蓝色","黑色"]}}`)
	waitFor(t, "new product searchable", func() bool { return slices.Contains(hitIDs(t, ix, "牛仔夹克"), "p1") })
	created := time.Since(t0)

	// Its title changes.
	t1 := time.Now()
	importLines(t, s, `{"id":"p1","merchant_id":"m01","title":"真丝睡衣套装","brand":"李维斯/Levi's","category":"男装/上衣","price_fen":59900,"attrs":{"颜色":["蓝色","黑色"]}}`)
	waitFor(t, "new title searchable", func() bool { return slices.Contains(hitIDs(t, ix, "睡衣"), "p1") })
	updated := time.Since(t1)
	if ids := hitIDs(t, ix, "牛仔夹克"); slices.Contains(ids, "p1") {
		t.Errorf("old title still finds p1: %v", ids)
	}

	// Off the shelf, then deleted.
	if _, err := s.SetStatus(ctx, "bg1", commerce.OffShelf); err != nil {
		t.Fatal(err)
	}
	offShelf := waitFor(t, "off-shelf product gone", func() bool { return !slices.Contains(hitIDs(t, ix, "围巾"), "bg1") })
	if _, err := s.DeleteProducts(ctx, "bg2"); err != nil {
		t.Fatal(err)
	}
	deleted := waitFor(t, "deleted product gone", func() bool { _, ok := ix.Get("bg2"); return !ok })

	t.Logf("import start → searchable: new product %v, title change %v; status/delete commit → gone: %v, %v",
		created, updated, offShelf, deleted)
	cancel()
	if err := <-followDone; err != nil {
		t.Errorf("follower: %v", err)
	}
	if err := <-relayDone; err != nil {
		t.Errorf("relay: %v", err)
	}
	close(lags)
	for a := range lags {
		t.Logf("follower batch: %+v", a)
	}
}
