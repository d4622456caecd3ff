package memory_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/features/eventstest"
	"github.com/tide-live/tide/features/memory"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// TestPriceBand: a year of paid orders and clicks becomes the viewer's
// price band (catalogue prices where known, else paid order values;
// clicks on unpriced products and events older than the lookback count
// nothing), the in-process Builder agrees with ClickHouse, and Recall
// hands the band to the feed's features.
func TestPriceBand(t *testing.T) {
	conn, db := eventstest.Open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	var es []*tidev1.Event
	ev := func(ago time.Duration, typ tidev1.EventType, user, product string, value int64) {
		ms := now.Add(-ago).UnixMilli()
		es = append(es, &tidev1.Event{EventId: fmt.Sprintf("e%d", len(es)), Type: typ, Ts: ms, ReceivedAt: ms,
			UserId: user, MerchantId: "m1", ProductId: product, Value: value})
	}
	const day = 24 * time.Hour
	ev(300*day, tidev1.EventType_EVENT_TYPE_ORDER_PAID, "u1", "cheap", 1000) // two orders of 10 yuan
	ev(200*day, tidev1.EventType_EVENT_TYPE_ORDER_PAID, "u1", "cheap", 1000)
	ev(2*day, tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, "u1", "listed", 0) // catalogue price 40 yuan
	ev(2*day, tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, "u1", "unpriced", 0)
	ev(400*day, tidev1.EventType_EVENT_TYPE_ORDER_PAID, "u1", "old", 900000) // beyond the year
	ev(1*day, tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, "u2", "unpriced", 0)
	eventstest.Insert(t, conn, db, es)
	prices := func(p string) (int64, bool) {
		if p == "listed" {
			return 4000, true
		}
		return 0, false
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := memory.Options{Database: db, Now: func() time.Time { return now }, Log: quiet, Prices: prices}
	m, err := memory.Load(context.Background(), conn, o)
	if err != nil {
		t.Fatal(err)
	}
	var u1 features.UserFeatures
	m.Recall("u1", &u1)
	b := u1.PriceBand
	// weights: two orders (5 each) at 1000 fen, one click (1) at 4000 fen
	w := features.DefaultUserWeights()
	ow, cw := 2*float64(w.Order), float64(w.Click)
	mu := (ow*math.Log(1000) + cw*math.Log(4000)) / (ow + cw)
	sd := math.Sqrt((ow*math.Pow(math.Log(1000)-mu, 2) + cw*math.Pow(math.Log(4000)-mu, 2)) / (ow + cw))
	want := features.PriceBand{Low: int64(math.Round(math.Exp(mu - sd))), Median: int64(math.Round(math.Exp(mu))),
		High: int64(math.Round(math.Exp(mu + sd))), Weight: ow + cw}
	if b != want {
		t.Fatalf("u1's band %+v, want %+v", b, want)
	}
	if b.Affinity(1000) != 1 || b.Affinity(80000) >= 0.2 || b.Affinity(80000) <= 0 {
		t.Errorf("affinity in band %v, far above it %v", b.Affinity(1000), b.Affinity(80000))
	}
	var u2 features.UserFeatures
	m.Recall("u2", &u2)
	if u2.PriceBand.Known() {
		t.Errorf("u2 clicked only an unpriced product but has a band %+v", u2.PriceBand)
	}

	// The Builder, fed the lookback, remembers the same band.
	bo := o
	bo.Database = ""
	bl := memory.NewBuilder(bo)
	for _, e := range es {
		if now.Sub(time.UnixMilli(e.GetReceivedAt())) <= 365*day {
			bl.Add(e)
		}
	}
	var fromBuilder features.UserFeatures
	bl.Memory().Recall("u1", &fromBuilder)
	if fromBuilder.PriceBand != want {
		t.Errorf("builder's band %+v, ClickHouse's %+v", fromBuilder.PriceBand, want)
	}
}
