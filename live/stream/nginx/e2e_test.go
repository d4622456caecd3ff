package nginx_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
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
func TestEndToEnd(t *testing.T) {
	tools := nginxtest.Require(t, "ffmpeg", "ffprobe")
	runEndToEnd(t, e2eTools{ffmpeg: tools[0], ffprobe: tools[1]}, nil,
		e2eStreams{live: "e2e-live", ban: "e2e-ban", forged: "e2e-forged", expired: "e2e-expired"})
}

type e2eTools struct{ ffmpeg, ffprobe string }

// e2eStreams names the streams of the run: live and ban must be pushable
// (with the room registry as the Sink, two scheduled sessions' streams);
// forged and expired are pushed with bad signatures and never reach the Sink.
type e2eStreams struct{ live, ban, forged, expired string }

// runEndToEnd is the nginx-rtmp end-to-end run. next is the Sink that
// decides (nil allows everything); the room registry can be passed instead.
func runEndToEnd(t *testing.T, tools e2eTools, next stream.Sink, streams e2eStreams) {
	const playKey = "e2e-play-key"
	sink := &sinktest.Recorder{Next: next}
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
			ff := startPush(t, tools, push, 7*time.Second)
			pub, ok := sink.WaitFor(sinktest.Kind(stream.KindPublish, name), 15*time.Second)
			if !ok {
				t.Fatalf("no publish signal; ffmpeg: %s", ff.output())
			}
			pull, err := p.PullURLs(name, hour)
			if err != nil {
				t.Fatal(err)
			}
			if out, err := probeUntil(tools, pull.HLS, 12*time.Second); err != nil {
				t.Fatalf("ffprobe %s: %v\n%s", pull.HLS, err, out)
			} else if !strings.Contains(out, "video") {
				t.Fatalf("ffprobe of the HLS pull found no video stream: %q", out)
			}
			if out, err := probe(tools, pull.RTMP, "stream=codec_type"); err != nil || !strings.Contains(out, "video") {
				t.Errorf("ffprobe of the signed RTMP pull: %v %q", err, out)
			}
			badPlay := strings.Replace(pull.RTMP, "sig=", "sig=0", 1)
			if out, err := probe(tools, badPlay, "stream=codec_type"); err == nil {
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
			if err := ff.wait(20 * time.Second); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, ff.output())
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
			if order := kindsOf(sink.Applied(), name, stream.KindDisconnect, stream.KindRecord); order != "disconnect,record" {
				t.Errorf("the Sink got %s, want the end before the replay", order)
			}
			out, err := probe(tools, rec.ReplayURL, "format=duration")
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
			ff := startPush(t, tools, push, 40*time.Second)
			if _, ok := sink.WaitFor(sinktest.Kind(stream.KindPublish, name), 15*time.Second); !ok {
				t.Fatalf("no publish signal; ffmpeg: %s", ff.output())
			}
			banned := time.Now()
			if err := p.Forbid(context.Background(), name, "moderation: block"); err != nil {
				t.Fatal(err)
			}
			_ = ff.wait(15 * time.Second) // ffmpeg fails when nginx cuts it
			if !ff.exited() {
				t.Fatal("ffmpeg still pushing 15 s after Forbid")
			}
			t.Logf("push cut %v after Forbid", time.Since(banned).Round(100*time.Millisecond))
			if _, ok := sink.WaitFor(sinktest.Kind(stream.KindDisconnect, name), 10*time.Second); !ok {
				t.Fatal("no disconnect signal after the cut")
			}
			before := len(sink.Applied())
			again := startPush(t, tools, push, 3*time.Second)
			if err := again.wait(20 * time.Second); err == nil {
				t.Fatalf("a push of a forbidden stream succeeded:\n%s", again.output())
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
func refusedPush(t *testing.T, tools e2eTools, sink *sinktest.Recorder, push, name string) {
	t.Helper()
	ff := startPush(t, tools, push, 5*time.Second)
	if err := ff.wait(20 * time.Second); err == nil {
		t.Fatalf("ffmpeg pushed with a bad signature:\n%s", ff.output())
	}
	for _, s := range sink.All() {
		if s.Stream == name {
			t.Fatalf("a refused push reached the sink: %+v", s)
		}
	}
}

type ffmpegRun struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan error
	err  error
}

// startPush pushes a generated test pattern and tone for d; it is killed
// when the test ends.
func startPush(t *testing.T, tools e2eTools, push string, d time.Duration) *ffmpegRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	cmd := exec.CommandContext(ctx, tools.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.FormatFloat(d.Seconds(), 'f', 1, 64),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", "15",
		"-c:a", "aac", "-b:a", "64k", "-f", "flv", push)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start ffmpeg: %v", err)
	}
	r := &ffmpegRun{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait(); cancel() }()
	t.Cleanup(func() {
		if !r.exited() {
			_ = cmd.Process.Kill()
			_ = r.wait(5 * time.Second)
		}
	})
	return r
}

// wait waits up to timeout for ffmpeg to exit and returns its error; a
// timeout leaves it running.
func (r *ffmpegRun) wait(timeout time.Duration) error {
	if r.done == nil {
		return r.err
	}
	select {
	case r.err = <-r.done:
		r.done = nil
		return r.err
	case <-time.After(timeout):
		return context.DeadlineExceeded
	}
}

func (r *ffmpegRun) exited() bool { return r.done == nil || r.wait(0) != context.DeadlineExceeded }

func (r *ffmpegRun) output() string { return r.out.String() }

// probe runs ffprobe on u and prints the entries asked for.
func probe(tools e2eTools, u, entries string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tools.ffprobe, "-v", "error", "-show_entries", entries, "-of", "csv=p=0", u).CombinedOutput()
	return string(out), err
}

// probeUntil retries ffprobe of the HLS pull until the first segments exist.
func probeUntil(tools e2eTools, u string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		out, err := probe(tools, u, "stream=codec_type")
		if err == nil || time.Now().After(deadline) {
			return out, err
		}
		time.Sleep(500 * time.Millisecond)
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
