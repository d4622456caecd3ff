package features_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/features/eventstest"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/testenv"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// newTopic creates a topic of its own for the test, deleted at the end.
func newTopic(t *testing.T, brokers []string, partitions int32) (*kgo.Client, string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	topic := fmt.Sprintf("features-test-%d-%08x", time.Now().UnixNano(), rand.Uint32())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		adm.DeleteTopics(ctx, topic)
		cl.Close()
	})
	return cl, topic
}

// produce sends es with the Kafka timestamp at each event's received_at, as
// the Track RPC does.
func produce(t *testing.T, cl *kgo.Client, topic string, es []*tidev1.Event) {
	t.Helper()
	recs := make([]*kgo.Record, len(es))
	for i, e := range es {
		b, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = &kgo.Record{Topic: topic, Key: ingest.Key(e), Value: b, Timestamp: time.UnixMilli(e.ReceivedAt),
			Headers: ingest.ProducerHeaders(ingest.ProducerServer)} // the simulation carries streams and orders
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// fingerprint is what must agree between a store fed directly and one fed by
// WarmUp + Follow: every window of every room, product and anchor, live
// status, and users' engagement counts.
func fingerprint(s *features.Store, rooms, products, anchors, users []string) map[string]string {
	out := map[string]string{}
	for _, id := range rooms {
		f := s.Room(id)
		out["room "+id] = fmt.Sprint(f.Windows, f.Live, f.LiveSessionID)
	}
	for _, id := range products {
		out["product "+id] = fmt.Sprint(s.Product(id).Windows)
	}
	for _, id := range anchors {
		out["anchor "+id] = fmt.Sprint(s.Anchor(id).Windows)
	}
	for _, id := range users {
		u := s.User(id)
		n := 0
		for _, l := range [][]features.Engagement{u.Rooms, u.Products, u.Anchors, u.Bought, u.RoomImpressions} {
			for _, e := range l {
				n += e.Count
			}
		}
		out["user "+id] = fmt.Sprint(n, len(u.Follows))
	}
	out["live"] = fmt.Sprint(s.LiveRoomIDs())
	return out
}

func TestWarmUpThenFollowCountsEachEventOnce(t *testing.T) {
	brokers := testenv.Kafka(t)
	conn, db := eventstest.Open(t)
	cl, topic := newTopic(t, brokers, 3)

	// 40 minutes of history up to 3 s ago, received 80 ms after the client's ts.
	now := time.Now()
	sim := livesim.New(livesim.WithSeed(7), livesim.WithUsers(400), livesim.WithMerchants(20),
		livesim.WithStart(now.Add(-40*time.Minute)), livesim.WithSessionRate(0.15))
	var hist, live []*tidev1.Event
	for {
		e := sim.Next()
		e.ReceivedAt = e.Ts + 80
		if e.ReceivedAt >= now.Add(-3*time.Second).UnixMilli() {
			break
		}
		hist = append(hist, e)
	}
	if len(hist) < 1000 {
		t.Fatalf("only %d history events", len(hist))
	}
	// ClickHouse holds all of it (what ingest stored), some rows twice
	// (a redelivery that the ReplacingMergeTree has not merged yet).
	eventstest.Insert(t, conn, db, hist)
	eventstest.Insert(t, conn, db, hist[:200])
	produce(t, cl, topic, hist)

	// The boundary falls before the last 50 history events, whatever the
	// simulated traffic's rate at this hour and however long the setup
	// took: WarmUp's clock is set so that its cut lands there.
	const settle = 10 * time.Second
	cut := time.UnixMilli(hist[len(hist)-50].ReceivedAt)
	var before int
	statusRooms := map[string]bool{}
	for _, e := range hist {
		if e.ReceivedAt >= cut.UnixMilli() {
			continue
		}
		before++
		if typ := e.GetType(); typ == tidev1.EventType_EVENT_TYPE_STREAM_START || typ == tidev1.EventType_EVENT_TYPE_STREAM_END {
			statusRooms[e.RoomId] = true
		}
	}
	s := features.NewStore()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	gotCut, err := features.WarmUp(ctx, s, conn, now.Add(-time.Hour), features.WarmUpTable(db, "events"),
		features.WarmUpSettle(settle), features.WarmUpClock(func() time.Time { return cut.Add(settle) }))
	if err != nil {
		t.Fatal(err)
	}
	if !gotCut.Equal(cut) {
		t.Fatalf("WarmUp returned boundary %v, want %v (its clock minus the settle time)", gotCut, cut)
	}
	// Applied counts the history received before the boundary, each event
	// once, and the latest stream status of every room (applied first).
	warmed := s.Stats().Applied
	if want := int64(before + len(statusRooms)); warmed != want {
		t.Fatalf("warm-up applied %d events, want the %d history events received before the boundary plus %d rooms' stream status",
			warmed, before, len(statusRooms))
	}

	var wg sync.WaitGroup
	wg.Add(1)
	fctx, stop := context.WithCancel(ctx)
	go func() {
		defer wg.Done()
		err := features.Follow(fctx, s, brokers, topic, features.From(cut), features.WithIdleAdvance(0))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Follow: %v", err)
		}
	}()
	// Live events, received now.
	for range 300 {
		e := sim.Next()
		e.ReceivedAt = time.Now().UnixMilli()
		live = append(live, e)
	}
	produce(t, cl, topic, live)

	ref := features.NewStore()
	all := append(slices.Clone(hist), live...)
	slices.SortStableFunc(all, func(a, b *tidev1.Event) int { return int(a.ReceivedAt - b.ReceivedAt) })
	ref.ApplyBatch(all)
	ids := func(f func(*tidev1.Event) string) []string {
		var out []string
		for _, e := range all {
			if id := f(e); id != "" {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	rooms, products := ids((*tidev1.Event).GetRoomId), ids((*tidev1.Event).GetProductId)
	anchors, users := ids((*tidev1.Event).GetMerchantId), ids((*tidev1.Event).GetUserId)
	want := fingerprint(ref, rooms, products, anchors, users)

	var got map[string]string
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = fingerprint(s, rooms, products, anchors, users)
		if s.Watermark().Equal(ref.Watermark()) && fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			n := 0
			for k, v := range want {
				if got[k] != v && n < 5 {
					t.Errorf("%s:\n got %s\nwant %s", k, got[k], v)
					n++
				}
			}
			t.Fatalf("features after warm-up + follow differ from applying each event once (watermark %v, want %v)",
				s.Watermark(), ref.Watermark())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()
	st := s.Stats()
	t.Logf("history %d events (warm-up applied %d with the stream status), live %d; %d rooms, %d live; lag p50 %v p99 %v",
		len(hist), warmed, len(live), st.Rooms, st.LiveRooms, st.Lag.P50, st.Lag.P99)
	if st.LiveRooms == 0 {
		t.Error("no live rooms after warm-up")
	}
}
