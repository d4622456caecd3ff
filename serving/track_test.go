package serving_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
)

// fakeProducer records what Track produced and can fail or block.
type fakeProducer struct {
	mu      sync.Mutex
	records []*kgo.Record
	fail    error
	block   chan struct{}
	calls   atomic.Int32
}

func (f *fakeProducer) pending() int32 { return f.calls.Load() }

func (f *fakeProducer) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	f.calls.Add(1)
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(kgo.ProduceResults, len(rs))
	for i, r := range rs {
		out[i] = kgo.ProduceResult{Record: r, Err: f.fail}
	}
	if f.fail == nil {
		f.records = append(f.records, rs...)
	}
	return out
}

func (f *fakeProducer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.records)
}

var now = time.Date(2025, 6, 18, 12, 0, 0, 0, time.UTC)

func event(i int) *tidev1.Event {
	return &tidev1.Event{
		EventId: fmt.Sprintf("ev-%d", i), Type: tidev1.EventType_EVENT_TYPE_LIKE, Ts: now.Add(-time.Second).UnixMilli(),
		UserId: fmt.Sprintf("u%d", i%7), RoomId: "room-1", Value: 3,
	}
}

func batch(n int) []*tidev1.Event {
	out := make([]*tidev1.Event, n)
	for i := range out {
		out[i] = event(i)
	}
	return out
}

// newTestServer serves a Track service on a fake producer over httptest.
func newTestServer(t *testing.T, p serving.Producer) (*serving.Server, *serving.EventService, string) {
	t.Helper()
	srv := serving.New(serving.WithLogger(slog.New(slog.DiscardHandler)))
	svc := serving.NewEventService(p, srv.Registry(), serving.WithClock(func() time.Time { return now }),
		serving.WithTopic("t"), serving.WithTrackLogger(slog.New(slog.DiscardHandler)))
	svc.Mount(srv)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return srv, svc, hs.URL
}

func TestTrackValidation(t *testing.T) {
	p := &fakeProducer{}
	_, _, url := newTestServer(t, p)
	client := tidev1connect.NewEventServiceClient(http.DefaultClient, url)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		mutate func([]*tidev1.Event) []*tidev1.Event
		code   connect.Code
		msg    string
	}{
		{"empty batch", func([]*tidev1.Event) []*tidev1.Event { return nil }, connect.CodeInvalidArgument, "events: empty batch"},
		{"too many", func([]*tidev1.Event) []*tidev1.Event { return batch(501) }, connect.CodeInvalidArgument, "501 events in one batch, more than 500"},
		{"future ts", func(b []*tidev1.Event) []*tidev1.Event {
			b[3].Ts = now.Add(2 * time.Hour).UnixMilli()
			return b
		}, connect.CodeInvalidArgument, "events[3].ts: 2025-06-18T14:00:00Z is 2h0m0s in the future"},
		{"ancient ts", func(b []*tidev1.Event) []*tidev1.Event {
			b[1].Ts = 1000
			return b
		}, connect.CodeInvalidArgument, "events[1].ts: 1970-01-01T00:00:01Z is"},
		{"unknown type", func(b []*tidev1.Event) []*tidev1.Event {
			b[4].Type = 999
			return b
		}, connect.CodeInvalidArgument, "events[4].type: unknown event type 999"},
		{"missing id", func(b []*tidev1.Event) []*tidev1.Event {
			b[0].EventId = ""
			return b
		}, connect.CodeInvalidArgument, "events[0].event_id: missing"},
		{"missing room", func(b []*tidev1.Event) []*tidev1.Event {
			b[2].RoomId = ""
			return b
		}, connect.CodeInvalidArgument, "events[2].room_id: required for like"},
		{"oversize text", func(b []*tidev1.Event) []*tidev1.Event {
			b[5].Type, b[5].Text = tidev1.EventType_EVENT_TYPE_CHAT, strings.Repeat("好", 400)
			return b
		}, connect.CodeInvalidArgument, "events[5].text: 1200 bytes, more than 1024"},
		{"oversize request", func(b []*tidev1.Event) []*tidev1.Event {
			for _, e := range b {
				e.Attrs = map[string]string{}
				for k := range 32 {
					e.Attrs[fmt.Sprint(k)] = strings.Repeat("x", 250)
				}
			}
			return b
		}, connect.CodeResourceExhausted, "larger than configured max"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Track(ctx, connect.NewRequest(&tidev1.TrackRequest{Events: tc.mutate(batch(200))}))
			if connect.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v (%v), want %v containing %q", err, connect.CodeOf(err), tc.code, tc.msg)
			}
		})
	}
	if n := p.count(); n != 0 {
		t.Errorf("rejected batches produced %d records", n)
	}
}

func TestTrackStampsDedupesAndCounts(t *testing.T) {
	p := &fakeProducer{}
	srv, _, url := newTestServer(t, p)
	client := tidev1connect.NewEventServiceClient(http.DefaultClient, url, connect.WithProtoJSON())
	ctx := context.Background()
	b := batch(10)
	b = append(b, event(3)) // a repeat inside the batch
	res, err := client.Track(ctx, connect.NewRequest(&tidev1.TrackRequest{Events: b}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.GetAccepted() != 11 || p.count() != 10 {
		t.Fatalf("accepted %d, produced %d; want 11, 10", res.Msg.GetAccepted(), p.count())
	}
	for _, r := range p.records {
		if r.Topic != "t" || len(r.Key) == 0 {
			t.Fatalf("record topic %q key %q", r.Topic, r.Key)
		}
	}
	// The client retries after losing the answer: nothing is produced again.
	if _, err := client.Track(ctx, connect.NewRequest(&tidev1.TrackRequest{Events: batch(12)})); err != nil {
		t.Fatal(err)
	}
	if n := p.count(); n != 12 {
		t.Fatalf("after the retry %d records, want 12 (10 + 2 new)", n)
	}
	body := scrape(t, srv)
	for _, want := range []string{`tide_track_events_total{result="accepted"} 12`, `tide_track_events_total{result="duplicate"} 11`,
		`tide_rpc_requests_total{code="ok",procedure="/tide.v1.EventService/Track"} 2`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestTrackUnavailableWhenKafkaFails(t *testing.T) {
	p := &fakeProducer{fail: errors.New("broker down")}
	srv, _, url := newTestServer(t, p)
	client := tidev1connect.NewEventServiceClient(http.DefaultClient, url)
	_, err := client.Track(context.Background(), connect.NewRequest(&tidev1.TrackRequest{Events: batch(5)}))
	if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "retry") {
		t.Fatalf("got %v, want unavailable", err)
	}
	// A failed batch is not remembered: the retry is produced.
	p.fail = nil
	if _, err := client.Track(context.Background(), connect.NewRequest(&tidev1.TrackRequest{Events: batch(5)})); err != nil {
		t.Fatal(err)
	}
	if n := p.count(); n != 5 {
		t.Fatalf("retry produced %d, want 5", n)
	}
	if !strings.Contains(scrape(t, srv), `tide_track_events_total{result="failed"} 5`) {
		t.Error("failed events not counted")
	}
}

// TestTrackNoBroker uses a real producer whose broker is not there.
func TestTrackNoBroker(t *testing.T) {
	producer, err := serving.NewProducer([]string{"127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	srv := serving.New(serving.WithLogger(slog.New(slog.DiscardHandler)))
	serving.NewEventService(producer, srv.Registry(), serving.WithProduceTimeout(300*time.Millisecond),
		serving.WithTrackLogger(slog.New(slog.DiscardHandler))).Mount(srv)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	b := batch(2)
	for _, e := range b {
		e.Ts = time.Now().UnixMilli()
	}
	client := tidev1connect.NewEventServiceClient(http.DefaultClient, hs.URL)
	_, err = client.Track(context.Background(), connect.NewRequest(&tidev1.TrackRequest{Events: b}))
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("got %v, want unavailable", err)
	}
	t.Log(err)
}

// TestTrackRawJSON posts what wx.request sends: plain JSON over HTTP/1.1.
func TestTrackRawJSON(t *testing.T) {
	p := &fakeProducer{}
	_, _, url := newTestServer(t, p)
	body := fmt.Sprintf(`{"events":[{"eventId":"e1","type":"EVENT_TYPE_CHAT","ts":"%d","userId":"u1","roomId":"r1","text":"3号链接多少钱"},
		{"event_id":"e2","type":5,"ts":%d,"user_id":"u1","room_id":"r1","value":"12","attrs":{"source":"feed"}}]}`,
		now.UnixMilli(), now.UnixMilli())
	resp, err := http.Post(url+tidev1connect.EventServiceTrackProcedure, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(out, []byte(`"accepted":2`)) {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	resp, err = http.Post(url+tidev1connect.EventServiceTrackProcedure, "application/json",
		strings.NewReader(`{"events":[{"eventId":"e3","type":"EVENT_TYPE_LIKE","ts":"1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !bytes.Contains(out, []byte(`"code":"invalid_argument"`)) || !bytes.Contains(out, []byte(`events[0].ts`)) {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
}

// TestServeGRPCAndShutdown runs the real server: gRPC over h2c, probes, and a
// graceful shutdown that lets a request in flight finish.
func TestServeGRPCAndShutdown(t *testing.T) {
	p := &fakeProducer{block: make(chan struct{})}
	kafkaUp := true
	srv := serving.New(serving.WithLogger(slog.New(slog.DiscardHandler)),
		serving.WithReadyCheck("kafka", func(context.Context) error {
			if !kafkaUp {
				return errors.New("no broker")
			}
			return nil
		}))
	serving.NewEventService(p, srv.Registry(), serving.WithClock(func() time.Time { return now })).Mount(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
		if code := get(t, base+path); code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
	}
	kafkaUp = false
	if code := get(t, base+"/readyz"); code != 503 {
		t.Errorf("GET /readyz with Kafka down = %d, want 503", code)
	}

	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	client := tidev1connect.NewEventServiceClient(h2c, base, connect.WithGRPC())
	answered := make(chan error, 1)
	go func() {
		_, err := client.Track(context.Background(), connect.NewRequest(&tidev1.TrackRequest{Events: batch(3)}))
		answered <- err
	}()
	for p.pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel() // shut down with the Track call waiting for its acknowledgement
	time.Sleep(50 * time.Millisecond)
	close(p.block)
	if err := <-answered; err != nil {
		t.Fatalf("request in flight during shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func scrape(t *testing.T, srv *serving.Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestTrackStampsAfterTheCaller(t *testing.T) {
	p := &fakeProducer{}
	srv := serving.New(serving.WithLogger(slog.New(slog.DiscardHandler)))
	// stamps the arm of whoever the event is finally attributed to; a
	// client's own arms are gone by then
	stamp := func(e *tidev1.Event) {
		if len(e.GetExperiments()) == 0 {
			e.Experiments = map[string]string{"feed": "arm-of-" + e.GetUserId()}
		}
	}
	svc := serving.NewEventService(p, srv.Registry(), serving.WithClock(func() time.Time { return now }),
		serving.WithTopic("t"), serving.WithEventStamp(stamp))
	user := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleUser, UserID: "u_token"})
	ev := event(1)
	ev.UserId = "u_body"
	pre := &tidev1.Event{EventId: "ev-2", Type: tidev1.EventType_EVENT_TYPE_LIKE, Ts: ev.Ts, UserId: "u_body", RoomId: "room-1",
		Experiments: map[string]string{"feed": "client-chosen", "other": "x"}}
	if _, err := svc.Track(user, connect.NewRequest(&tidev1.TrackRequest{Events: []*tidev1.Event{ev, pre}})); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ev-1": "arm-of-u_token", "ev-2": "arm-of-u_token"}
	if p.count() != 2 {
		t.Fatalf("produced %d records, want 2", p.count())
	}
	for _, r := range p.records {
		var got tidev1.Event
		if err := proto.Unmarshal(r.Value, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.GetExperiments()) != 1 {
			t.Errorf("%s: experiments %v, want only the server's arm", got.GetEventId(), got.GetExperiments())
		}
		if arm := got.GetExperiments()["feed"]; arm != want[got.GetEventId()] {
			t.Errorf("%s: arm %q, want %q", got.GetEventId(), arm, want[got.GetEventId()])
		}
	}
}
