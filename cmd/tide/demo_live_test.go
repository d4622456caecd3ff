package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/live"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// The demo registers the simulator's rooms and 预告, and its stream starts
// and ends become registry transitions instead of Track events.
func TestDemoLiveDivertsStreamEvents(t *testing.T) {
	dsn := pgtest.Database(t)
	t.Setenv("TIDE_POSTGRES_URL", dsn)
	ctx := context.Background()
	sim := livesim.New(livesim.WithSeed(3), livesim.WithUsers(200), livesim.WithStart(time.Now().UTC()))
	dl, err := openDemoLive(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), sim)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.close()
	rooms, err := dl.reg.Rooms(ctx, "")
	if err != nil || len(rooms) != len(sim.Rooms()) || rooms[0].Title == "" || rooms[0].AnchorName == "" {
		t.Fatalf("registry rooms %d (sim %d), first %+v, %v", len(rooms), len(sim.Rooms()), rooms, err)
	}
	var w livesim.Window // a session live at the start: its shelf is set
	for _, r := range sim.LiveRooms(sim.Now()) {
		if ws := sim.Windows(r, sim.Now(), sim.Now().Add(time.Second)); len(ws) > 0 && len(sim.Lineup(r)) > 0 {
			w = ws[0]
			break
		}
	}
	if w.LiveSessionID == "" {
		t.Fatal("no room of the simulation is live with a shelf at its start")
	}
	s, err := dl.reg.Session(ctx, w.LiveSessionID)
	if err != nil || !s.ScheduledStart.Equal(w.Start) {
		t.Fatalf("预告 %s not imported: %+v, %v", w.LiveSessionID, s, err)
	}
	room, _ := dl.reg.Room(ctx, w.RoomID)
	ev := func(typ tidev1.EventType, at time.Time, id string) *tidev1.Event {
		return &tidev1.Event{EventId: id, Type: typ, Ts: at.UnixMilli(), RoomId: w.RoomID, MerchantId: room.MerchantID,
			LiveSessionId: w.LiveSessionID, UserId: "u1", Text: "hi"}
	}
	rest := dl.divert(ctx, []*tidev1.Event{ev(tidev1.EventType_EVENT_TYPE_STREAM_START, w.Start, "e1"),
		ev(tidev1.EventType_EVENT_TYPE_CHAT, w.Start, "e2")})
	if len(rest) != 1 || rest[0].EventId != "e2" {
		t.Fatalf("divert left %v", rest)
	}
	if s, _ := dl.reg.Session(ctx, w.LiveSessionID); s.State != live.StateLive {
		t.Fatalf("after the simulated start: %s", s.State)
	}
	shelf, err := dl.reg.Shelf(ctx, w.RoomID)
	if want := sim.Lineup(w.RoomID); err != nil || len(shelf) != len(want) || shelf[0].ProductID != want[0] {
		t.Fatalf("shelf %v, %v; the simulation's lineup is %v", shelf, err, want)
	}
	dl.divert(ctx, []*tidev1.Event{ev(tidev1.EventType_EVENT_TYPE_STREAM_END, w.End, "e3")})
	if s, _ := dl.reg.Session(ctx, w.LiveSessionID); s.State != live.StateEnded {
		t.Fatalf("after the simulated end: %s", s.State)
	}
	var starts, ends int
	if err := dl.reg.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE event_type = 'stream_start'),
		count(*) FILTER (WHERE event_type = 'stream_end') FROM event_outbox`).Scan(&starts, &ends); err != nil {
		t.Fatal(err)
	}
	if starts != 1 || ends != 1 {
		t.Fatalf("outbox has %d stream_start, %d stream_end; want 1 and 1", starts, ends)
	}
}
