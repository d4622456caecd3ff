package tencent_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/refused"
	"github.com/tide-live/tide/live/stream/refused/refusedtest"
	"github.com/tide-live/tide/live/stream/sinktest"
	"github.com/tide-live/tide/live/stream/tencent"
)

var now = time.Unix(1522138000, 0)

type harness struct {
	p    *tencent.Provider
	sink *sinktest.Recorder
	h    http.Handler
	reg  *prometheus.Registry
	api  *fakeAPI
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := refused.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	api := newFakeAPI(t, cfg.SecretID, cfg.SecretKey)
	p, err := tencent.New(cfg, tencent.WithClock(func() time.Time { return now }), tencent.WithRefusedCounter(c),
		tencent.WithAPIEndpoint("HTTP", api.endpoint()))
	if err != nil {
		t.Fatal(err)
	}
	sink := &sinktest.Recorder{}
	return &harness{p: p, sink: sink, h: p.Callbacks(sink), reg: reg, api: api}
}

// post sends fields as a callback body signed with key and t.
func (h *harness) post(t *testing.T, key string, ts int64, fields map[string]any) *httptest.ResponseRecorder {
	t.Helper()
	body := map[string]any{"t": ts, "sign": tencent.CallbackSign(key, ts)}
	for k, v := range fields {
		body[k] = v
	}
	raw, _ := json.Marshal(body)
	return h.postRaw(string(raw))
}

func (h *harness) postRaw(body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/live/callback/tencent", strings.NewReader(body)))
	return w
}

func TestCallbackSignVector(t *testing.T) {
	if got := tencent.CallbackSign("key123", 1522138523); got != "7fccfbc74f9cb1a4d0b969515b2dda9a" {
		t.Fatalf("CallbackSign = %s, want 7fccfbc74f9cb1a4d0b969515b2dda9a", got)
	}
}

func push(eventType int, extra map[string]any) map[string]any {
	f := map[string]any{
		"event_type": eventType, "appid": 12345, "app": "push.example.com", "appname": "live",
		"stream_id": "room42", "channel_id": "room42", "sequence": "6674468118806626493",
		"event_time": 1522138100, "stream_param": "txSecret=x&txTime=5C271099",
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

func TestCallbacksVerifiedAndRetriedOnce(t *testing.T) {
	h := newHarness(t)
	const ts = 1522138523 // the vector's t, after the test clock
	w := h.post(t, "key123", ts, push(1, nil))
	if w.Code != http.StatusOK || w.Body.String() != `{"code":0}` {
		t.Fatalf("push callback: %d %q", w.Code, w.Body.String())
	}
	// Tencent retries the same event (after a timeout): same Signal.ID
	if w := h.post(t, "key123", ts, push(1, nil)); w.Code != http.StatusOK {
		t.Fatalf("retry: %d", w.Code)
	}
	disc := push(0, map[string]any{"errcode": 1, "errmsg": "recv rtmp deleteStream", "push_duration": 420000, "event_time": 1522138520})
	if w := h.post(t, "key123", ts, disc); w.Code != http.StatusOK {
		t.Fatalf("disconnect: %d", w.Code)
	}
	all, applied := h.sink.All(), h.sink.Applied()
	if len(all) != 3 || len(applied) != 2 {
		t.Fatalf("sink got %d signals, %d distinct; want 3 and 2: %+v", len(all), len(applied), all)
	}
	if all[0].ID != all[1].ID {
		t.Fatalf("a retry changed Signal.ID: %q vs %q", all[0].ID, all[1].ID)
	}
	pub, end := applied[0], applied[1]
	if pub.Kind != stream.KindPublish || pub.Provider != "tencent" || pub.Stream != "room42" ||
		pub.Sequence != "6674468118806626493" || !pub.At.Equal(time.Unix(1522138100, 0)) {
		t.Errorf("publish = %+v", pub)
	}
	if end.Kind != stream.KindDisconnect || end.Blip || end.Sequence != pub.Sequence || !strings.Contains(end.Reason, "deleteStream") {
		t.Errorf("disconnect = %+v, want a deliberate stop of the same sequence", end)
	}
	if end.ID == pub.ID {
		t.Error("publish and disconnect share an ID")
	}
}

func TestCallbacksRefusedAndCounted(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name string
		send func() *httptest.ResponseRecorder
		code int
	}{
		{"forged: wrong key", func() *httptest.ResponseRecorder { return h.post(t, "not-the-key", 1522138523, push(1, nil)) }, http.StatusForbidden},
		{"forged: sign of another t", func() *httptest.ResponseRecorder {
			return h.postRaw(`{"t":1522138524,"sign":"7fccfbc74f9cb1a4d0b969515b2dda9a","event_type":1,"stream_id":"room42","sequence":"1"}`)
		}, http.StatusForbidden},
		{"expired", func() *httptest.ResponseRecorder { return h.post(t, "key123", now.Unix()-1, push(1, nil)) }, http.StatusForbidden},
		{"malformed: not JSON", func() *httptest.ResponseRecorder { return h.postRaw(`t=1&sign=x`) }, http.StatusBadRequest},
		{"malformed: no sign", func() *httptest.ResponseRecorder { return h.postRaw(`{"t":1522138523,"event_type":1}`) }, http.StatusBadRequest},
		{"malformed: push without sequence", func() *httptest.ResponseRecorder {
			return h.post(t, "key123", 1522138523, map[string]any{"event_type": 1, "stream_id": "room42"})
		}, http.StatusBadRequest},
	}
	for _, c := range cases {
		if w := c.send(); w.Code != c.code {
			t.Errorf("%s: status %d, want %d", c.name, w.Code, c.code)
		}
	}
	if n := len(h.sink.All()); n != 0 {
		t.Fatalf("refused callbacks reached the sink: %d", n)
	}
	got := refusedtest.Gather(t, h.reg)
	want := map[string]float64{"tencent/forged": 2, "tencent/expired": 1, "tencent/malformed": 3}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("refused %s = %v, want %v (all %v)", k, got[k], v, got)
		}
	}
}

func TestDisconnectReasons(t *testing.T) {
	cases := []struct {
		errcode int
		errmsg  string
		blip    bool
		reason  string
	}{
		{1, "recv rtmp deleteStream", false, "deleteStream"},
		{2, "recv rtmp closeStream", false, "closeStream"},
		{3, "recv() return 0", true, "without unpublishing"},
		{4, "recv() return error", true, "connection error"},
		{8, "", true, "idle"},
		{20, "no data", true, "idle"},
		{18, "500 no txTime", false, "no txTime"},
		{18, "501", false, "txTime expired"},
		{18, "502", false, "no auth parameter"},
		{18, "503 auth failed", false, "auth check failed"},
		{18, "305", false, "stream forbidden"},
		{18, "400", false, "IP blacklist"},
		{18, "401", false, "whitelist"},
		{18, "600", false, "concurrency"},
		{18, "601", false, "concurrency"},
		{18, "", false, "push refused"},
		{21, "100 DropLiveStream", false, "DropLiveStream"},
		{21, "101", false, "ForbidLiveStream"},
		{21, "102", true, "replaced"},
		{21, "103", true, "replaced"},
		{21, "999 something", false, "backend"},
		{77, "never seen", true, "never seen"},
	}
	for _, c := range cases {
		h := newHarness(t)
		disc := push(0, map[string]any{"errcode": c.errcode, "errmsg": c.errmsg})
		if w := h.post(t, "key123", 1522138523, disc); w.Code != http.StatusOK {
			t.Fatalf("%d/%q: status %d", c.errcode, c.errmsg, w.Code)
		}
		s := h.sink.Applied()[0]
		if s.Blip != c.blip || !strings.Contains(s.Reason, c.reason) {
			t.Errorf("%d/%q: blip=%v reason=%q, want blip=%v reason containing %q", c.errcode, c.errmsg, s.Blip, s.Reason, c.blip, c.reason)
		}
	}
}

func TestRecordAndModeration(t *testing.T) {
	h := newHarness(t)
	rec := map[string]any{
		"event_type": 100, "stream_id": "room42", "file_id": "5285890781763144364", "file_format": "hls",
		"video_url": "http://1234.vod2.myqcloud.com/room42.m3u8", "duration": 3600, "start_time": 1522134500, "end_time": 1522138100,
	}
	for range 2 { // a retry
		if w := h.post(t, "key123", 1522138523, rec); w.Code != http.StatusOK {
			t.Fatalf("record: %d", w.Code)
		}
	}
	mod := map[string]any{
		"event_type": 317, "streamId": "room42", "channelId": "room42", "img": "http://cos/snap-1.jpg",
		"type": 1, "score": 97.5, "suggestion": "Block", "label": "Porn", "subLabel": "SexyBehavior",
	}
	if w := h.post(t, "key123", 1522138523, mod); w.Code != http.StatusOK {
		t.Fatalf("moderation: %d", w.Code)
	}
	mod["img"], mod["suggestion"] = "http://cos/snap-2.jpg", "Review"
	h.post(t, "key123", 1522138523, mod)
	mod["img"], mod["suggestion"] = "http://cos/snap-3.jpg", "Pass"
	h.post(t, "key123", 1522138523, mod)
	// an event type tide does not act on is answered and dropped
	if w := h.post(t, "key123", 1522138523, map[string]any{"event_type": 200, "stream_id": "room42"}); w.Code != http.StatusOK {
		t.Fatalf("snapshot: %d", w.Code)
	}

	got := h.sink.Applied()
	if len(got) != 4 || len(h.sink.All()) != 5 {
		t.Fatalf("applied %d of %d signals, want 4 of 5: %+v", len(got), len(h.sink.All()), got)
	}
	r := got[0]
	if r.Kind != stream.KindRecord || r.ReplayURL != "http://1234.vod2.myqcloud.com/room42.m3u8" || r.ReplayDuration != time.Hour || r.Stream != "room42" {
		t.Errorf("record = %+v", r)
	}
	wantVerdicts := []stream.Verdict{stream.VerdictBlock, stream.VerdictReview, stream.VerdictPass}
	for i, v := range wantVerdicts {
		m := got[1+i]
		if m.Kind != stream.KindModeration || m.Verdict != v || m.Stream != "room42" {
			t.Errorf("moderation %d = %+v, want verdict %v", i, m, v)
		}
	}
	if got[1].Label != "Porn/SexyBehavior" || got[1].Score != 97.5 {
		t.Errorf("block verdict label/score = %q %v", got[1].Label, got[1].Score)
	}
}

func TestSinkErrorAsksForRetry(t *testing.T) {
	h := newHarness(t)
	h.sink.Err = errors.New("registry down")
	if w := h.post(t, "key123", 1522138523, push(1, nil)); w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 so Tencent retries", w.Code)
	}
}

func TestRefusedPushIsDropped(t *testing.T) {
	h := newHarness(t)
	h.sink.Decide = func(stream.Signal) stream.Decision {
		return stream.Decision{Allow: false, Reason: "no session scheduled"}
	}
	if w := h.post(t, "key123", 1522138523, push(1, nil)); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if calls, _ := h.api.recorded(); len(calls) == 1 {
			if calls[0].Action != "DropLiveStream" || calls[0].Params["StreamName"] != "room42" {
				t.Fatalf("call = %+v, want DropLiveStream room42", calls[0])
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("a push the sink refused was not dropped through the API")
}
