package nginx_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/nginx"
	"github.com/tide-live/tide/live/stream/nginx/nginxtest"
	"github.com/tide-live/tide/live/stream/refused"
	"github.com/tide-live/tide/live/stream/refused/refusedtest"
	"github.com/tide-live/tide/live/stream/sinktest"
)

// TestEndToEnd pushes generated video through a real nginx-rtmp with ffmpeg
// and checks what the hooks report, with a Sink that allows every stream.
// (cmd/tide's TestServeLiveEndToEnd runs the same path with the room
// registry deciding, through tide serve.)
func TestEndToEnd(t *testing.T) {
	tools := nginxtest.RequireTools(t)
	streams := struct{ live, ban, forged, expired string }{live: "e2e-live", ban: "e2e-ban", forged: "e2e-forged", expired: "e2e-expired"}
	const playKey = "e2e-play-key"
	sink := &sinktest.Recorder{}
	reg := prometheus.NewRegistry()
	counter, err := refused.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	hooks := httptest.NewUnstartedServer(nil)
	srv := nginxtest.Start(t, "http://"+hooks.Listener.Addr().String()+"/live/callback/nginx", playKey)
	p, err := nginx.New(nginx.Config{RTMPBase: srv.RTMPBase(), HTTPBase: srv.HTTPBase(), PushKey: "e2e-push-key", PlayKey: playKey},
		nginx.WithRefusedCounter(counter))
	if err != nil {
		t.Fatal(err)
	}
	hooks.Config.Handler = logHooks(t, p.Callbacks(sink))
	hooks.Start()
	t.Cleanup(hooks.Close)
	defer func() {
		if t.Failed() {
			t.Logf("nginx error log:\n%s", srv.ErrorLog())
		}
	}()
	hour := time.Now().Add(time.Hour)

	t.Run("pushes", func(t *testing.T) {
		t.Run("live, pulled, stopped, recorded", func(t *testing.T) {
			t.Parallel()
			name := streams.live
			push, err := p.PushURL(name, hour)
			if err != nil {
				t.Fatal(err)
			}
			ff := tools.Push(t, push, 7*time.Second)
			pub, ok := sink.WaitFor(sinktest.Kind(stream.KindPublish, name), 15*time.Second)
			if !ok {
				t.Fatalf("no publish signal; ffmpeg: %s", ff.Output())
			}
			pull, err := p.PullURLs(name, hour)
			if err != nil {
				t.Fatal(err)
			}
			if out, err := tools.ProbeUntil(pull.HLS, 12*time.Second); err != nil {
				t.Fatalf("ffprobe %s: %v\n%s", pull.HLS, err, out)
			} else if !strings.Contains(out, "video") {
				t.Fatalf("ffprobe of the HLS pull found no video stream: %q", out)
			}
			if out, err := tools.Probe(pull.RTMP, "stream=codec_type"); err != nil || !strings.Contains(out, "video") {
				t.Errorf("ffprobe of the signed RTMP pull: %v %q", err, out)
			}
			badPlay := strings.Replace(pull.RTMP, "sig=", "sig=0", 1)
			if out, err := tools.Probe(badPlay, "stream=codec_type"); err == nil {
				t.Errorf("RTMP pull with a forged play signature was served: %q", out)
			}
			forged := strings.Replace(pull.HLS, nginx.SecureLinkToken(playKey, name, hour), nginx.SecureLinkToken("other-key", name, hour), 1)
			if code := httpStatus(t, forged); code != http.StatusForbidden {
				t.Errorf("HLS with a forged token: status %d, want 403", code)
			}
			stale, err := p.PullURLs(name, time.Now().Add(-time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if code := httpStatus(t, stale.HLS); code != http.StatusGone {
				t.Errorf("HLS with an expired token: status %d, want 410", code)
			}
			if err := ff.Wait(20 * time.Second); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, ff.Output())
			}
			end, ok := sink.WaitFor(sinktest.Kind(stream.KindDisconnect, name), 10*time.Second)
			if !ok {
				t.Fatal("no disconnect signal after ffmpeg stopped")
			}
			if end.Blip || end.Sequence != pub.Sequence {
				t.Errorf("disconnect = %+v, want a deliberate end of push %s", end, pub.Sequence)
			}
			rec, ok := sink.WaitFor(sinktest.Kind(stream.KindRecord, name), 10*time.Second)
			if !ok {
				t.Fatal("no record signal after ffmpeg stopped")
			}
			// nginx-rtmp sends publish_done and record_done as two
			// asynchronous HTTP notifies, so either may arrive first (CI saw
			// record,disconnect once); the registry's Sink handles a record
			// before the end (live/postgres tests it), so only both matter here.
			if order := kindsOf(sink.Applied(), name, stream.KindDisconnect, stream.KindRecord); order != "disconnect,record" && order != "record,disconnect" {
				t.Errorf("the Sink got %q, want one disconnect and one record", order)
			}
			out, err := tools.Probe(rec.ReplayURL, "format=duration")
			if err != nil {
				t.Fatalf("ffprobe replay %s: %v\n%s", rec.ReplayURL, err, out)
			}
			if d, err := strconv.ParseFloat(strings.TrimSpace(out), 64); err != nil || d < 3 {
				t.Errorf("replay duration %q, want at least 3 s of the 7 s push", out)
			}
			updates := 0
			for _, s := range sink.Applied() {
				if s.Kind == stream.KindUpdate && s.Stream == name {
					updates++
				}
			}
			if updates == 0 {
				t.Error("no on_update signal during a 7 s push")
			}
		})

		t.Run("forged signature refused", func(t *testing.T) {
			t.Parallel()
			push, err := p.PushURL(streams.forged, hour)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(push)
			q := u.Query()
			q.Set("sig", nginx.Sign("not-our-key", streams.forged, hour.Unix()))
			u.RawQuery = q.Encode()
			refusedPush(t, tools, sink, u.String(), streams.forged)
		})

		t.Run("expired signature refused", func(t *testing.T) {
			t.Parallel()
			push, err := p.PushURL(streams.expired, time.Now().Add(-time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			refusedPush(t, tools, sink, push, streams.expired)
		})

		t.Run("forbid cuts the push via on_update", func(t *testing.T) {
			t.Parallel()
			name := streams.ban
			push, err := p.PushURL(name, hour)
			if err != nil {
				t.Fatal(err)
			}
			ff := tools.Push(t, push, 40*time.Second)
			if _, ok := sink.WaitFor(sinktest.Kind(stream.KindPublish, name), 15*time.Second); !ok {
				t.Fatalf("no publish signal; ffmpeg: %s", ff.Output())
			}
			banned := time.Now()
			if err := p.Forbid(context.Background(), name, "moderation: block"); err != nil {
				t.Fatal(err)
			}
			_ = ff.Wait(15 * time.Second) // ffmpeg fails when nginx cuts it
			if !ff.Exited() {
				t.Fatal("ffmpeg still pushing 15 s after Forbid")
			}
			t.Logf("push cut %v after Forbid", time.Since(banned).Round(100*time.Millisecond))
			if _, ok := sink.WaitFor(sinktest.Kind(stream.KindDisconnect, name), 10*time.Second); !ok {
				t.Fatal("no disconnect signal after the cut")
			}
			before := len(sink.Applied())
			again := tools.Push(t, push, 3*time.Second)
			if err := again.Wait(20 * time.Second); err == nil {
				t.Fatalf("a push of a forbidden stream succeeded:\n%s", again.Output())
			}
			for _, s := range sink.Applied()[before:] {
				if s.Stream == name && s.Kind == stream.KindPublish {
					t.Fatalf("forbidden stream reached the sink: %+v", s)
				}
			}
		})
	})

	got := refusedtest.Gather(t, reg)
	if got["nginx/forged"] < 1 || got["nginx/expired"] < 1 {
		t.Errorf("refused counter = %v, want forged and expired counted", got)
	}
}

// refusedPush checks nginx refuses a push because the hook said no.
func refusedPush(t *testing.T, tools nginxtest.Tools, sink *sinktest.Recorder, push, name string) {
	t.Helper()
	ff := tools.Push(t, push, 5*time.Second)
	if err := ff.Wait(20 * time.Second); err == nil {
		t.Fatalf("ffmpeg pushed with a bad signature:\n%s", ff.Output())
	}
	for _, s := range sink.All() {
		if s.Stream == name {
			t.Fatalf("a refused push reached the sink: %+v", s)
		}
	}
}

func httpStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// logHooks logs each hook's form and answer (go test -v shows them).
func logHooks(t *testing.T, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		t.Logf("hook %s -> %d %s", body, rec.Code, strings.TrimSpace(rec.Body.String()))
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// kindsOf lists, in order, the signals of streamName among kinds.
func kindsOf(signals []stream.Signal, streamName string, kinds ...stream.Kind) string {
	var out []string
	for _, s := range signals {
		if s.Stream == streamName && slices.Contains(kinds, s.Kind) {
			out = append(out, s.Kind.String())
		}
	}
	return strings.Join(out, ",")
}
