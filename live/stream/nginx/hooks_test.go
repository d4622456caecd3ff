package nginx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/nginx"
	"github.com/tide-live/tide/live/stream/refused"
	"github.com/tide-live/tide/live/stream/refused/refusedtest"
	"github.com/tide-live/tide/live/stream/sinktest"
)

var clock = time.Unix(1700000000, 0)

type hookHarness struct {
	p    *nginx.Provider
	sink *sinktest.Recorder
	h    http.Handler
	reg  *prometheus.Registry
}

func newHookHarness(t *testing.T) *hookHarness {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := refused.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nginx.New(nginx.Config{RTMPBase: "rtmp://127.0.0.1:19350/live", HTTPBase: "http://127.0.0.1:18088", PushKey: "pk", PlayKey: "yk"},
		nginx.WithClock(func() time.Time { return clock }), nginx.WithRefusedCounter(c))
	if err != nil {
		t.Fatal(err)
	}
	sink := &sinktest.Recorder{}
	return &hookHarness{p: p, sink: sink, h: p.Callbacks(sink), reg: reg}
}

// form is an nginx-rtmp notify body, shaped as observed from libnginx-mod-rtmp
// 1.2.2 (test-vectors.md nginx_rtmp_on_publish), with tide's exp and sig.
func form(call, name, client string, exp int64, sig string, extra ...string) string {
	v := "app=live&flashver=&swfurl=&tcurl=rtmp://127.0.0.1:19350/live&pageurl=&addr=127.0.0.1&clientid=" + client +
		"&call=" + call + "&name=" + name
	if call == "publish" {
		v += "&type=live"
	}
	for _, e := range extra {
		v += "&" + e
	}
	return v + "&exp=" + strconv.FormatInt(exp, 10) + "&sig=" + sig
}

func (h *hookHarness) post(body string) int {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/live/callback/nginx", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.h.ServeHTTP(w, r)
	return w.Code
}

func TestPushURLCarriesOurSignature(t *testing.T) {
	h := newHookHarness(t)
	exp := clock.Add(time.Hour)
	push, err := h.p.PushURL("room42", exp)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(push)
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "127.0.0.1:19350" || u.Path != "/live/room42" || u.Query().Get("exp") != strconv.FormatInt(exp.Unix(), 10) ||
		u.Query().Get("sig") != nginx.Sign("pk", "room42", exp.Unix()) {
		t.Fatalf("PushURL = %s", push)
	}
	pull, err := h.p.PullURLs("room42", exp)
	if err != nil {
		t.Fatal(err)
	}
	wantHLS := "http://127.0.0.1:18088/hls/" + nginx.SecureLinkToken("yk", "room42", exp) + "/1700003600/room42/index.m3u8"
	if pull.HLS != wantHLS || pull.FLV != "" || !strings.Contains(pull.RTMP, "sig="+nginx.Sign("yk", "room42", exp.Unix())) {
		t.Fatalf("PullURLs = %+v, want HLS %s, no FLV, RTMP signed with the play key", pull, wantHLS)
	}
	if _, err := h.p.PushURL("room/42", exp); err == nil {
		t.Fatal("PushURL accepted a name nginx.conf's HLS location cannot match")
	}
}

func TestHooksLifecycle(t *testing.T) {
	h := newHookHarness(t)
	exp := clock.Add(time.Hour).Unix()
	sig := nginx.Sign("pk", "room42", exp)
	if c := h.post(form("publish", "room42", "7", exp, sig)); c != http.StatusOK {
		t.Fatalf("publish: %d", c)
	}
	if c := h.post(form("update_publish", "room42", "7", exp, sig, "time=2", "timestamp=1956")); c != http.StatusOK {
		t.Fatalf("update: %d", c)
	}
	// Drop cuts this push at its next update, once
	if err := h.p.Drop(context.Background(), "room42"); err != nil {
		t.Fatal(err)
	}
	if c := h.post(form("update_publish", "room42", "7", exp, sig, "time=4")); c != http.StatusForbidden {
		t.Fatalf("update after Drop: %d, want 403", c)
	}
	if c := h.post(form("record_done", "room42", "7", exp, sig, "recorder=", "path=/srv/rec/room42-1700000100.flv")); c != http.StatusOK {
		t.Fatalf("record_done: %d", c)
	}
	if c := h.post(form("publish_done", "room42", "7", exp, sig)); c != http.StatusOK {
		t.Fatalf("publish_done: %d", c)
	}
	// the anchor may push again after a Drop
	if c := h.post(form("publish", "room42", "8", exp, sig)); c != http.StatusOK {
		t.Fatalf("publish after Drop: %d", c)
	}
	// after a restart of tide the push is unknown: Drop cuts the stream's next update
	fresh := newHookHarness(t)
	if err := fresh.p.Drop(context.Background(), "room42"); err != nil {
		t.Fatal(err)
	}
	if c := fresh.post(form("update_publish", "room42", "8", exp, sig, "time=30")); c != http.StatusForbidden {
		t.Fatalf("update after Drop of a push this process never saw start: %d, want 403", c)
	}
	if c := fresh.post(form("update_publish", "room42", "8", exp, sig, "time=32")); c != http.StatusOK {
		t.Fatalf("Drop cut more than once: %d", c)
	}

	got := h.sink.Applied()
	// nginx sends record_done before publish_done; the Sink gets the end first
	kinds := []stream.Kind{stream.KindPublish, stream.KindUpdate, stream.KindDisconnect, stream.KindRecord, stream.KindPublish}
	if len(got) != len(kinds) {
		t.Fatalf("sink got %d signals, want %d: %+v", len(got), len(kinds), got)
	}
	for i, k := range kinds {
		if got[i].Kind != k || got[i].Stream != "room42" || got[i].Provider != "nginx" {
			t.Errorf("signal %d = %+v, want %v", i, got[i], k)
		}
	}
	if got[3].ReplayURL != "http://127.0.0.1:18088/rec/room42-1700000100.flv" {
		t.Errorf("replay URL = %s", got[3].ReplayURL)
	}
	if got[2].Blip || got[2].Sequence != "7" || got[4].Sequence != "8" {
		t.Errorf("disconnect %+v / second publish %+v", got[2], got[4])
	}
	ids := map[string]bool{}
	for _, s := range got {
		if ids[s.ID] {
			t.Errorf("duplicate ID %s", s.ID)
		}
		ids[s.ID] = true
	}
}

func TestHooksForbidAndSinkRefusal(t *testing.T) {
	h := newHookHarness(t)
	exp := clock.Add(time.Hour).Unix()
	sig := nginx.Sign("pk", "room42", exp)
	h.post(form("publish", "room42", "1", exp, sig))
	if err := h.p.Forbid(context.Background(), "room42", "moderation"); err != nil {
		t.Fatal(err)
	}
	if c := h.post(form("update_publish", "room42", "1", exp, sig)); c != http.StatusForbidden {
		t.Fatalf("update of a forbidden stream: %d", c)
	}
	if c := h.post(form("publish", "room42", "2", exp, sig)); c != http.StatusForbidden {
		t.Fatalf("publish of a forbidden stream: %d", c)
	}
	if err := h.p.Resume(context.Background(), "room42"); err != nil {
		t.Fatal(err)
	}
	if c := h.post(form("publish", "room42", "3", exp, sig)); c != http.StatusOK {
		t.Fatalf("publish after Resume: %d", c)
	}
	// the Sink's refusal refuses the push (an unknown stream, a banned session)
	h.sink.Decide = func(s stream.Signal) stream.Decision { return stream.Decision{Reason: "no session scheduled"} }
	other := nginx.Sign("pk", "room43", exp)
	if c := h.post(form("publish", "room43", "4", exp, other)); c != http.StatusForbidden {
		t.Fatalf("publish the sink refused: %d", c)
	}
}

func TestHooksRefusedAndCounted(t *testing.T) {
	h := newHookHarness(t)
	future, past := clock.Add(time.Hour).Unix(), clock.Add(-time.Second).Unix()
	cases := []struct {
		name, body string
		code       int
	}{
		{"forged", form("publish", "room42", "1", future, nginx.Sign("other", "room42", future)), http.StatusForbidden},
		{"signed for another stream", form("publish", "room42", "1", future, nginx.Sign("pk", "room43", future)), http.StatusForbidden},
		{"forged publish_done", form("publish_done", "room42", "1", future, "00"), http.StatusForbidden},
		{"expired", form("publish", "room42", "1", past, nginx.Sign("pk", "room42", past)), http.StatusForbidden},
		{"no sig", "call=publish&name=room42&clientid=1", http.StatusForbidden},
		{"no name", "call=publish&clientid=1", http.StatusBadRequest},
		{"bad exp", "call=publish&name=room42&clientid=1&exp=soon&sig=ab", http.StatusForbidden},
	}
	for _, c := range cases {
		if got := h.post(c.body); got != c.code {
			t.Errorf("%s: status %d, want %d", c.name, got, c.code)
		}
	}
	// RTMP play: signed with the play key and not expired
	if c := h.post(form("play", "room42", "9", future, nginx.Sign("yk", "room42", future))); c != http.StatusOK {
		t.Errorf("signed play: %d", c)
	}
	if c := h.post(form("play", "room42", "9", future, nginx.Sign("pk", "room42", future))); c != http.StatusForbidden {
		t.Errorf("play signed with the push key: %d, want 403", c)
	}
	if c := h.post(form("play", "room42", "9", past, nginx.Sign("yk", "room42", past))); c != http.StatusForbidden {
		t.Errorf("expired play: %d, want 403", c)
	}
	// an expired URL does not cut a push already running: updates and
	// publish_done check the signature, not its expiry
	if c := h.post(form("update_publish", "room42", "1", past, nginx.Sign("pk", "room42", past))); c != http.StatusOK {
		t.Errorf("update of a push that outlived its URL: %d", c)
	}
	if n := len(h.sink.All()); n != 1 {
		t.Fatalf("%d signals reached the sink, want only the update", n)
	}
	got := refusedtest.Gather(t, h.reg)
	want := map[string]float64{"nginx/forged": 4, "nginx/expired": 2, "nginx/malformed": 3}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("refused %s = %v, want %v (all %v)", k, got[k], v, got)
		}
	}
}
