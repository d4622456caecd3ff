package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/live"
	"github.com/tide-live/tide/live/postgres"
	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/streamtest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

type fixture struct {
	reg   *postgres.Registry
	prov  *streamtest.Provider
	clock *clock
	seen  int64 // outbox rows already read
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dsn := pgtest.Database(t)
	ctx := context.Background()
	f := &fixture{prov: streamtest.New(), clock: &clock{t: time.Now().UTC()}}
	reg, err := postgres.Open(ctx, dsn, postgres.WithProvider(f.prov), postgres.WithGrace(time.Minute),
		postgres.WithClock(f.clock.now), postgres.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	if err := reg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f.reg = reg
	return f
}

// events returns the outbox events written since the last call.
func (f *fixture) events(t *testing.T) []*tidev1.Event {
	t.Helper()
	rows, err := f.reg.Pool().Query(context.Background(), `SELECT id, payload FROM event_outbox WHERE id > $1 ORDER BY id`, f.seen)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*tidev1.Event
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&f.seen, &b); err != nil {
			t.Fatal(err)
		}
		var e tidev1.Event
		if err := proto.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, &e)
	}
	return out
}

func types(es []*tidev1.Event) []tidev1.EventType {
	var ts []tidev1.EventType
	for _, e := range es {
		ts = append(ts, e.Type)
	}
	return ts
}

func (f *fixture) scheduled(t *testing.T, merchant string) (live.Room, live.Session) {
	t.Helper()
	ctx := context.Background()
	room, err := f.reg.CreateRoom(ctx, live.Room{MerchantID: merchant, Title: "秋冬女装专场", AnchorName: "小美", Category: "女装"})
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.now()
	s, err := f.reg.ScheduleSession(ctx, merchant, room.ID, now.Add(10*time.Minute), now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	f.events(t)
	return room, s
}

func (f *fixture) apply(t *testing.T, sig stream.Signal) stream.Decision {
	t.Helper()
	sig.Provider = "test"
	d, err := f.reg.Apply(context.Background(), sig)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fixture) state(t *testing.T, id string) live.State {
	t.Helper()
	s, err := f.reg.Session(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s.State
}

func (f *fixture) transitions(t *testing.T, id string) []string {
	t.Helper()
	rows, err := f.reg.Pool().Query(context.Background(), `SELECT to_state FROM live_session_transitions WHERE session_id = $1 ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const (
	start     = tidev1.EventType_EVENT_TYPE_STREAM_START
	end       = tidev1.EventType_EVENT_TYPE_STREAM_END
	changed   = tidev1.EventType_EVENT_TYPE_ROOM_CHANGED
	merchantA = "m-a"
)

// A full lifecycle: every transition is a row and writes its events, with
// the room, session and merchant on them; a blip pauses and the push
// coming back resumes; a stop ends; the recording makes a replay.
func TestLifecycleWritesRowsAndEvents(t *testing.T) {
	f := newFixture(t)
	room, s := f.scheduled(t, merchantA)
	if d := f.apply(t, stream.Signal{ID: "1", Kind: stream.KindPublish, Stream: s.Stream, Sequence: "push-1"}); !d.Allow {
		t.Fatalf("publish of a scheduled session refused: %s", d.Reason)
	}
	es := f.events(t)
	if !equal(types(es), []tidev1.EventType{start, changed}) {
		t.Fatalf("publish wrote %v", types(es))
	}
	for _, e := range es {
		if e.RoomId != room.ID || e.LiveSessionId != s.ID || e.MerchantId != merchantA || e.EventId == "" {
			t.Errorf("event %v lacks room/session/merchant", e)
		}
	}
	f.apply(t, stream.Signal{ID: "2", Kind: stream.KindDisconnect, Stream: s.Stream, Sequence: "push-1", Blip: true})
	if got := f.state(t, s.ID); got != live.StatePaused {
		t.Fatalf("after a blip: %s", got)
	}
	if es := f.events(t); !equal(types(es), []tidev1.EventType{changed}) {
		t.Fatalf("blip wrote %v; a pause is not an end", types(es))
	}
	f.apply(t, stream.Signal{ID: "3", Kind: stream.KindPublish, Stream: s.Stream, Sequence: "push-2"})
	if got := f.state(t, s.ID); got != live.StateLive {
		t.Fatalf("after the push came back: %s", got)
	}
	f.events(t)
	f.apply(t, stream.Signal{ID: "4", Kind: stream.KindDisconnect, Stream: s.Stream, Sequence: "push-2", Reason: "1 client stopped"})
	if es := f.events(t); !equal(types(es), []tidev1.EventType{end, changed}) {
		t.Fatalf("stop wrote %v", types(es))
	}
	f.apply(t, stream.Signal{ID: "5", Kind: stream.KindRecord, Stream: s.Stream, ReplayURL: "https://vod.test/r.mp4", ReplayDuration: time.Hour})
	if got := f.state(t, s.ID); got != live.StateReplayReady {
		t.Fatalf("after the recording: %s", got)
	}
	reps, err := f.reg.Replays(context.Background(), room.ID)
	if err != nil || len(reps) != 1 || reps[0].URL != "https://vod.test/r.mp4" || reps[0].Duration != time.Hour {
		t.Fatalf("replays %v, %v", reps, err)
	}
	want := []string{"scheduled", "live", "paused", "live", "ended", "replay_ready"}
	if got := f.transitions(t, s.ID); !equal(got, want) {
		t.Fatalf("transition rows %v, want %v", got, want)
	}
	// Over: a new push is refused.
	if d := f.apply(t, stream.Signal{ID: "6", Kind: stream.KindPublish, Stream: s.Stream, Sequence: "push-3"}); d.Allow {
		t.Fatal("publish of a finished session allowed")
	}
}

// Retried signals change nothing twice and get the first answer; a late
// disconnect of an older push does not end the newer one; a disconnect that
// overtakes its publish leaves the session off air.
func TestRetriedAndOutOfOrderSignals(t *testing.T) {
	f := newFixture(t)
	_, s := f.scheduled(t, merchantA)
	pub := stream.Signal{ID: "a", Kind: stream.KindPublish, Stream: s.Stream, Sequence: "p1"}
	for range 3 {
		if d := f.apply(t, pub); !d.Allow {
			t.Fatal("retried publish refused")
		}
	}
	if es := f.events(t); !equal(types(es), []tidev1.EventType{start, changed}) {
		t.Fatalf("three deliveries of one publish wrote %v", types(es))
	}
	f.apply(t, stream.Signal{ID: "b", Kind: stream.KindPublish, Stream: s.Stream, Sequence: "p2"}) // p2 replaces p1
	f.apply(t, stream.Signal{ID: "c", Kind: stream.KindDisconnect, Stream: s.Stream, Sequence: "p1"})
	if got := f.state(t, s.ID); got != live.StateLive {
		t.Fatalf("a late disconnect of the old push moved the session to %s", got)
	}
	if es := f.events(t); len(es) != 0 {
		t.Fatalf("replaced push and its late disconnect wrote %v", types(es))
	}

	// Disconnect first, then its publish (out of order): stays scheduled.
	_, s2 := f.scheduled(t, merchantA+"2")
	f.apply(t, stream.Signal{ID: "d", Kind: stream.KindDisconnect, Stream: s2.Stream, Sequence: "q1"})
	if d := f.apply(t, stream.Signal{ID: "e", Kind: stream.KindPublish, Stream: s2.Stream, Sequence: "q1"}); d.Allow {
		t.Fatal("publish of an already disconnected push allowed")
	}
	if got := f.state(t, s2.ID); got != live.StateScheduled {
		t.Fatalf("out-of-order publish moved the session to %s", got)
	}

	// Concurrent retries of one signal apply once.
	_, s3 := f.scheduled(t, merchantA+"3")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := f.reg.Apply(context.Background(), stream.Signal{ID: "f", Provider: "test", Kind: stream.KindPublish,
				Stream: s3.Stream, Sequence: "r1"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := f.transitions(t, s3.ID); !equal(got, []string{"scheduled", "live"}) {
		t.Fatalf("concurrent retries: transitions %v", got)
	}
}

func TestUnknownBannedCancelledRefused(t *testing.T) {
	f := newFixture(t)
	if d := f.apply(t, stream.Signal{ID: "x", Kind: stream.KindPublish, Stream: "no-such-stream"}); d.Allow {
		t.Fatal("unknown stream allowed")
	}
	_, s := f.scheduled(t, merchantA)
	if _, err := f.reg.CancelSession(context.Background(), merchantA, s.ID); err != nil {
		t.Fatal(err)
	}
	if d := f.apply(t, stream.Signal{ID: "y", Kind: stream.KindPublish, Stream: s.Stream}); d.Allow {
		t.Fatal("cancelled session allowed")
	}
	_, s2 := f.scheduled(t, merchantA)
	f.apply(t, stream.Signal{ID: "z", Kind: stream.KindPublish, Stream: s2.Stream, Sequence: "1"})
	f.events(t)
	// Moderation: Review is queued, not acted on; Block bans and forbids.
	f.apply(t, stream.Signal{ID: "m1", Kind: stream.KindModeration, Stream: s2.Stream, Verdict: stream.VerdictReview, Label: "Porn", Score: 71})
	if got := f.state(t, s2.ID); got != live.StateLive {
		t.Fatalf("a review verdict changed the session to %s", got)
	}
	revs, err := f.reg.Reviews(context.Background())
	if err != nil || len(revs) != 1 || revs[0].SessionID != s2.ID || revs[0].Label != "Porn" {
		t.Fatalf("reviews %v, %v", revs, err)
	}
	if d := f.apply(t, stream.Signal{ID: "m2", Kind: stream.KindModeration, Stream: s2.Stream, Verdict: stream.VerdictBlock, Label: "Porn"}); d.Allow {
		t.Fatal("block verdict allowed the stream")
	}
	if got := f.state(t, s2.ID); got != live.StateBanned {
		t.Fatalf("after a block verdict: %s", got)
	}
	if _, ok := f.prov.Forbidden(s2.Stream); !ok {
		t.Fatal("a banned stream was not forbidden through the provider")
	}
	if es := f.events(t); !equal(types(es), []tidev1.EventType{end, changed}) {
		t.Fatalf("ban wrote %v", types(es))
	}
	if d := f.apply(t, stream.Signal{ID: "u", Kind: stream.KindUpdate, Stream: s2.Stream}); d.Allow {
		t.Fatal("on_update of a banned session allowed")
	}
	if d := f.apply(t, stream.Signal{ID: "p", Kind: stream.KindPublish, Stream: s2.Stream, Sequence: "2"}); d.Allow {
		t.Fatal("banned session allowed to push again")
	}
}

func TestGraceExpiryEnds(t *testing.T) {
	f := newFixture(t)
	_, s := f.scheduled(t, merchantA)
	f.apply(t, stream.Signal{ID: "1", Kind: stream.KindPublish, Stream: s.Stream, Sequence: "1"})
	f.apply(t, stream.Signal{ID: "2", Kind: stream.KindDisconnect, Stream: s.Stream, Sequence: "1", Blip: true})
	f.events(t)
	ctx := context.Background()
	f.clock.add(30 * time.Second)
	if n, err := f.reg.ExpirePaused(ctx); err != nil || n != 0 {
		t.Fatalf("ExpirePaused within the grace = %d, %v", n, err)
	}
	f.clock.add(31 * time.Second)
	if n, err := f.reg.ExpirePaused(ctx); err != nil || n != 1 {
		t.Fatalf("ExpirePaused after the grace = %d, %v", n, err)
	}
	if got := f.state(t, s.ID); got != live.StateEnded {
		t.Fatalf("after the grace: %s", got)
	}
	if es := f.events(t); !equal(types(es), []tidev1.EventType{end, changed}) {
		t.Fatalf("grace expiry wrote %v", types(es))
	}
}

// A 预告 whose window passes without a push expires (107 已过期) with a
// room_changed and no stream_end; one that went on air is left alone; a late
// push of the expired one is refused.
func TestScheduledExpiresWhenItsWindowPasses(t *testing.T) {
	f := newFixture(t)
	_, idle := f.scheduled(t, merchantA)
	_, aired := f.scheduled(t, merchantA)
	f.apply(t, stream.Signal{ID: "1", Kind: stream.KindPublish, Stream: aired.Stream, Sequence: "1"})
	f.events(t)
	ctx := context.Background()
	f.clock.add(time.Hour)
	if n, err := f.reg.ExpireScheduled(ctx); err != nil || n != 0 {
		t.Fatalf("ExpireScheduled inside the window = %d, %v", n, err)
	}
	f.clock.add(time.Hour + time.Second)
	if n, err := f.reg.ExpireScheduled(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireScheduled after the window = %d, %v", n, err)
	}
	if got := f.state(t, idle.ID); got != live.StateExpired {
		t.Fatalf("idle 预告 after its window: %s", got)
	}
	if got := f.state(t, aired.ID); got != live.StateLive {
		t.Fatalf("the session on air after its window: %s", got)
	}
	if es := f.events(t); !equal(types(es), []tidev1.EventType{changed}) {
		t.Fatalf("expiry wrote %v", types(es))
	}
	if n, err := f.reg.ExpireScheduled(ctx); err != nil || n != 0 {
		t.Fatalf("ExpireScheduled again = %d, %v", n, err)
	}
	if d := f.apply(t, stream.Signal{ID: "late", Kind: stream.KindPublish, Stream: idle.Stream, Sequence: "9"}); d.Allow {
		t.Fatal("a push of an expired 预告 was allowed")
	}
}

// A recording that arrives while the session is still on air (nginx-rtmp's
// record_done racing its publish_done) makes the session replay_ready when
// the end comes, and GetRoom's replays list it.
func TestRecordBeforeTheEnd(t *testing.T) {
	f := newFixture(t)
	room, s := f.scheduled(t, merchantA)
	f.apply(t, stream.Signal{ID: "1", Kind: stream.KindPublish, Stream: s.Stream, Sequence: "1"})
	f.apply(t, stream.Signal{ID: "r", Kind: stream.KindRecord, Stream: s.Stream, Sequence: "1", ReplayURL: "https://rec.test/1.flv"})
	if got := f.state(t, s.ID); got != live.StateLive {
		t.Fatalf("after a mid-stream record: %s", got)
	}
	f.events(t)
	f.apply(t, stream.Signal{ID: "2", Kind: stream.KindDisconnect, Stream: s.Stream, Sequence: "1"})
	if got := f.state(t, s.ID); got != live.StateReplayReady {
		t.Fatalf("ended with its recording in: %s", got)
	}
	if es := f.events(t); !equal(types(es), []tidev1.EventType{end, changed, changed}) {
		t.Fatalf("end then replay wrote %v", types(es))
	}
	reps, err := f.reg.Replays(context.Background(), room.ID)
	if err != nil || len(reps) != 1 || reps[0].URL != "https://rec.test/1.flv" {
		t.Fatalf("replays %v, %v", reps, err)
	}
}

func TestOwnership(t *testing.T) {
	f := newFixture(t)
	room, s := f.scheduled(t, merchantA)
	ctx := context.Background()
	now := f.clock.now()
	checks := map[string]error{}
	_, checks["schedule"] = f.reg.ScheduleSession(ctx, "m-b", room.ID, now.Add(3*time.Hour), now.Add(4*time.Hour))
	_, checks["end"] = f.reg.EndSession(ctx, "m-b", s.ID)
	_, checks["cancel"] = f.reg.CancelSession(ctx, "m-b", s.ID)
	_, checks["shelf"] = f.reg.SetShelf(ctx, "m-b", room.ID, []string{"p1"})
	checks["explaining"] = f.reg.SetExplaining(ctx, "m-b", room.ID, "")
	_, checks["update"] = f.reg.UpdateRoom(ctx, "m-b", live.Room{ID: room.ID, Title: "hijack"})
	for what, err := range checks {
		if !errors.Is(err, live.ErrPermission) {
			t.Errorf("merchant B %s on A's room: %v, want ErrPermission", what, err)
		}
	}
	// Shelf order kept, one explaining at a time, explaining must be on the shelf.
	if _, err := f.reg.SetShelf(ctx, merchantA, room.ID, []string{"p3", "p1", "p2"}); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.SetExplaining(ctx, merchantA, room.ID, "p1"); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.SetExplaining(ctx, merchantA, room.ID, "p9"); !errors.Is(err, live.ErrPrecondition) {
		t.Fatalf("explaining a product not on the shelf: %v", err)
	}
	lines, _ := f.reg.Shelf(ctx, room.ID)
	if len(lines) != 3 || lines[0].ProductID != "p3" || lines[1].ProductID != "p1" || !lines[1].Explaining {
		t.Fatalf("shelf %v", lines)
	}
	if _, err := f.reg.ScheduleSession(ctx, merchantA, room.ID, now.Add(time.Hour), now.Add(3*time.Hour)); !errors.Is(err, live.ErrInvalid) {
		t.Fatalf("overlapping session: %v", err)
	}
}
