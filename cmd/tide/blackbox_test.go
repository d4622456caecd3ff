package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/experiment"
)

// TestForgeriesAreRefusedEndToEnd plays each hole of issue 9 from outside the
// process: over HTTP against `tide serve` on a real listener with real
// authentication, with the real ingester writing to a ClickHouse database of
// this test and an online features store following the topic as every
// serving replica does. A forged ¥5,000,000 gift, a forged order_paid (from a
// user and from an admin), an exposure, a client-chosen arm, a cross-merchant
// and a session-less stream_end, and events beyond the per-caller and per-IP
// limits are refused, and none of them is in ClickHouse or the features.
func TestForgeriesAreRefusedEndToEnd(t *testing.T) {
	chAddr := testenv.ClickHouse(t)
	expFile := filepath.Join(t.TempDir(), "experiments.json")
	if err := os.WriteFile(expFile, []byte(demoExperiment), 0o600); err != nil {
		t.Fatal(err)
	}
	tt := startTide(t, map[string]string{
		"TIDE_EXPERIMENTS": expFile,
		// small, slow buckets so the test decides what passes: Track per caller
		// 50 events, per IP (loopback, not exempt) 120, refilling 1 a minute
		envRateLimits: tidev1connect.EventServiceTrackProcedure + "=principal:1/m:50,ip:1/m:120",
	})
	db := "test_blackbox_" + fmt.Sprint(time.Now().UnixNano()%1e9)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ing, err := ingest.New(ctx, ingest.WithBrokers(tt.brokers...), ingest.WithTopic(tt.topic),
		ingest.WithDeadLetterTopic(tt.topic+".dlq"), ingest.WithGroup(tt.topic),
		ingest.WithClickHouse(chAddr, db), ingest.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := ingest.OpenClickHouse(ctx, chAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ch.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		ch.Close()
	})
	ingDone := make(chan error, 1)
	go func() { ingDone <- ing.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ingDone; err != nil && !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
		ing.Close()
	}()
	store := features.NewStore(features.WithLogger(log))
	go func() {
		_ = features.Follow(ctx, store, tt.brokers, tt.topic, features.From(time.Now().Add(-time.Minute)), features.WithFollowLogger(log))
	}()

	// The platform (the room registry, here played by the test) opens room
	// r_bb of merchant m1 as the server.
	platform, err := kgo.NewClient(kgo.SeedBrokers(tt.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer platform.Close()
	now := time.Now().UnixMilli()
	serverEvent := func(e *tidev1.Event) {
		t.Helper()
		e.ReceivedAt = now
		r, err := ingest.ServerRecord(tt.topic, e)
		if err != nil {
			t.Fatal(err)
		}
		if err := platform.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	serverEvent(&tidev1.Event{EventId: "platform-start", Type: tidev1.EventType_EVENT_TYPE_STREAM_START, Ts: now,
		MerchantId: "m1", RoomId: "r_bb", LiveSessionId: "s1"})

	alice, aliceID := tt.login(t, "alice")
	ev := func(id string, typ tidev1.EventType, f func(*tidev1.Event)) *tidev1.Event {
		e := &tidev1.Event{EventId: id, Type: typ, Ts: time.Now().UnixMilli(), UserId: aliceID, RoomId: "r_bb", MerchantId: "m1"}
		if f != nil {
			f(e)
		}
		return e
	}
	order := func(e *tidev1.Event) { e.Value, e.Attrs = 500_000_000, map[string]string{"order_id": "o-forged"} }
	refusals := []struct {
		name, cred string
		e          *tidev1.Event
		want       connect.Code
		msg        string
	}{
		{"user's ¥5,000,000 gift", alice, ev("forged-gift", tidev1.EventType_EVENT_TYPE_GIFT,
			func(e *tidev1.Event) { e.Value = 500_000_000 }), connect.CodePermissionDenied, "events[0].type: gift events are produced by"},
		{"user's order_paid", alice, ev("forged-paid-user", tidev1.EventType_EVENT_TYPE_ORDER_PAID, order),
			connect.CodePermissionDenied, "events[0].type: order_paid events are produced by checkout's outbox"},
		{"admin's order_paid", tt.adminKey, ev("forged-paid-admin", tidev1.EventType_EVENT_TYPE_ORDER_PAID, order),
			connect.CodePermissionDenied, "never sent by admins"},
		{"user's exposure with an arm of its choice", alice, ev("forged-exposure", tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE,
			func(e *tidev1.Event) { e.Experiments = map[string]string{"room_ranker": "forged-arm"} }),
			connect.CodePermissionDenied, "experiment_exposure events are produced by the server"},
		{"another merchant's stream_end", tt.m2Key, ev("forged-end-m2", tidev1.EventType_EVENT_TYPE_STREAM_END,
			func(e *tidev1.Event) { e.UserId, e.MerchantId, e.LiveSessionId = "", "", "s1" }),
			connect.CodePermissionDenied, "stream_end events are produced by the room registry"},
		{"the owner's session-less stream_end", tt.m1Key, ev("forged-end-m1", tidev1.EventType_EVENT_TYPE_STREAM_END,
			func(e *tidev1.Event) { e.UserId = "" }), connect.CodePermissionDenied, "never sent by merchants"},
	}
	for _, r := range refusals {
		err := tt.track(r.cred, r.e)
		if connect.CodeOf(err) != r.want || !strings.Contains(err.Error(), r.msg) {
			t.Errorf("%s: Track answered %v, want %v containing %q", r.name, err, r.want, r.msg)
		}
	}
	// A client-chosen arm: the event is taken, the arm is not.
	if err := tt.track(alice, ev("armtest", tidev1.EventType_EVENT_TYPE_ROOM_ENTER, func(e *tidev1.Event) {
		e.Experiments = map[string]string{"room_ranker": "forged-arm", "made_up": "x"}
	})); err != nil {
		t.Fatalf("room_enter with a client's arms: %v", err)
	}

	// Limits count events: bob's first 50 pass, his next 50 do not; carol
	// has her own caller bucket but the IP's 120 are spent (9 + 50 + 50 so
	// far: refused calls count against the IP too).
	bob, _ := tt.login(t, "bob")
	carol, _ := tt.login(t, "carol")
	batch := func(prefix string) []*tidev1.Event {
		out := make([]*tidev1.Event, 50)
		for i := range out {
			out[i] = ev(fmt.Sprintf("%s-%02d", prefix, i), tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, nil)
		}
		return out
	}
	if err := tt.track(bob, batch("ok-bob")...); err != nil {
		t.Fatalf("bob's first 50 events: %v", err)
	}
	if err := tt.track(bob, batch("overlimit-bob")...); connect.CodeOf(err) != connect.CodeResourceExhausted ||
		!strings.Contains(err.Error(), "from this caller") {
		t.Errorf("bob's next 50 events: %v, want resource_exhausted for the caller", err)
	}
	if err := tt.track(carol, batch("overlimit-carol")...); connect.CodeOf(err) != connect.CodeResourceExhausted ||
		!strings.Contains(err.Error(), "from this IP address") {
		t.Errorf("carol's 50 events from the same loopback address: %v, want resource_exhausted for the IP", err)
	}

	// A marker from the platform, after everything: once it is in ClickHouse
	// and the features, so would be anything sent before it (one partition).
	serverEvent(&tidev1.Event{EventId: "platform-marker", Type: tidev1.EventType_EVENT_TYPE_STREAM_START, Ts: now,
		MerchantId: "m9", RoomId: "r_marker", LiveSessionId: "s9"})
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && (!store.Room("r_marker").Live || chCount(t, ch, db, "event_id = 'platform-marker'") == 0) {
		time.Sleep(100 * time.Millisecond)
	}
	if !store.Room("r_marker").Live || chCount(t, ch, db, "event_id = 'platform-marker'") == 0 {
		t.Fatal("the platform's marker did not reach ClickHouse and the features in a minute")
	}

	// ClickHouse: none of the forgeries, the legitimate events all there.
	for what, where := range map[string]string{
		"forged or over-limit events":       "event_id LIKE 'forged-%' OR event_id LIKE 'overlimit-%'",
		"gifts or orders":                   "type IN ('gift', 'order_created', 'order_paid', 'order_refunded')",
		"stream ends":                       "type = 'stream_end'",
		"exposures not made by the server":  "type = 'experiment_exposure' AND NOT startsWith(event_id, 'xp-')",
		"events carrying a client's arm":    "has(experiments.arm, 'forged-arm') OR has(experiments.name, 'made_up')",
		"money on anything (value > 0 fen)": "value > 0 AND type != 'room_leave'",
	} {
		if n := chCount(t, ch, db, where); n != 0 {
			t.Errorf("ClickHouse holds %d %s", n, what)
		}
	}
	if n := chCount(t, ch, db, "event_id LIKE 'ok-bob-%'"); n != 50 {
		t.Errorf("bob's 50 accepted events: %d in ClickHouse", n)
	}
	if n := chCount(t, ch, db, "event_id = 'platform-start'"); n != 1 {
		t.Errorf("the platform's own stream_start: %d in ClickHouse", n)
	}
	// The arm on the client's event is the server's assignment.
	cfg, err := experiment.Parse(strings.NewReader(demoExperiment))
	if err != nil {
		t.Fatal(err)
	}
	a, err := experiment.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := experiment.Map(a.Assign(aliceID, "", nil))
	var names, arms []string
	if err := ch.QueryRow(ctx, "SELECT experiments.name, experiments.arm FROM "+db+".events WHERE event_id = 'armtest'").Scan(&names, &arms); err != nil {
		t.Fatalf("the client's room_enter is not in ClickHouse: %v", err)
	}
	got := map[string]string{}
	for i := range names {
		got[names[i]] = arms[i]
	}
	if len(want) == 0 || fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
		t.Errorf("arms on the client's event = %v, want the server's %v", got, want)
	}

	// The features: the room is still live in its session, with no money.
	r := store.Room("r_bb")
	if !r.Live || r.LiveSessionID != "s1" {
		t.Errorf("room r_bb: live=%v session %q after forged ends, want live in s1", r.Live, r.LiveSessionID)
	}
	for i, w := range r.Windows {
		if w.Gifts != 0 || w.GMV != 0 || w.Orders != 0 {
			t.Errorf("room r_bb window %d: gifts %d fen, GMV %d fen, %d orders from forgeries", i, w.Gifts, w.GMV, w.Orders)
		}
	}
	// And the serving replica's own features, through FeedService: r_bb is
	// still in the live feed.
	feedc := tidev1connect.NewFeedServiceClient(http.DefaultClient, tt.base)
	req := connect.NewRequest(&tidev1.RoomsRequest{PageSize: 50})
	req.Header().Set("Authorization", "Bearer "+alice)
	res, err := feedc.Rooms(ctx, req)
	if err != nil {
		t.Fatalf("FeedService.Rooms: %v", err)
	}
	var ids []string
	for _, it := range res.Msg.GetItems() {
		ids = append(ids, it.GetRoomId())
	}
	if !strings.Contains(strings.Join(ids, ","), "r_bb") {
		t.Errorf("FeedService.Rooms = %v: r_bb is not live on the server any more", ids)
	}
}

func chCount(t *testing.T, ch driver.Conn, db, where string) uint64 {
	t.Helper()
	var n uint64
	if err := ch.QueryRow(context.Background(), "SELECT count() FROM "+db+".events WHERE "+where).Scan(&n); err != nil {
		t.Fatalf("count where %s: %v", where, err)
	}
	return n
}

func sorted(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
