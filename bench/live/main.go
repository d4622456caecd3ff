// Command live drives N concurrent live sessions through a stream
// provider's callbacks (publish, then disconnect) and measures latencies.
//
// The measure the issue asks for is callback → visible / gone in
// FeedService.Rooms while the feed is under load, last line
// `live_start_p99_ms=<float> live_end_p99_ms=<float> sessions=<int>`. That
// needs the room registry (package live: sessions behind the stream names,
// the outbox to the feed) and LiveService to schedule the sessions; neither
// is on main yet, so this command runs only its callback half: -selftest
// serves the provider's real callback handler in-process with a recording
// Sink, and reports callback → Sink latency on a line of its own,
// `live_callback_start_p99_ms=<float> live_callback_end_p99_ms=<float> sessions=<int>`.
//
//	go run ./bench/live -selftest -sessions 200 -provider tencent
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/nginx"
	"github.com/tide-live/tide/live/stream/tencent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench/live:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	sessions := flag.Int("sessions", 100, "concurrent sessions")
	hold := flag.Duration("hold", time.Second, "how long each session stays live")
	provider := flag.String("provider", "tencent", "callbacks to send: tencent or nginx")
	selftest := flag.Bool("selftest", false, "serve the provider's callback handler in-process with a recording Sink")
	flag.Parse()
	if !*selftest {
		return errors.New("the feed measure needs the room registry and LiveService, not on main yet; run with -selftest for the callback half")
	}
	sink := newTimingSink()
	handler, bound, err := selfServe(*provider, sink)
	if err != nil {
		return err
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	call := bound.withURL(srv.URL)

	var wg sync.WaitGroup
	errs := make(chan error, *sessions)
	start := time.Now()
	for i := range *sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, seq := fmt.Sprintf("bench-%d", i), strconv.Itoa(1000+i)
			if err := call.publish(ctx, name, seq); err != nil {
				errs <- fmt.Errorf("publish %s: %w", name, err)
				return
			}
			select {
			case <-time.After(*hold):
			case <-ctx.Done():
				return
			}
			if err := call.disconnect(ctx, name, seq); err != nil {
				errs <- fmt.Errorf("disconnect %s: %w", name, err)
			}
		}()
		if (i+1)%50 == 0 {
			slog.Info("sessions started", "n", i+1, "of", *sessions)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	starts, ends := sink.latencies()
	if len(starts) != *sessions || len(ends) != *sessions {
		return fmt.Errorf("sink saw %d publishes and %d disconnects of %d sessions", len(starts), len(ends), *sessions)
	}
	slog.Info("done", "elapsed", time.Since(start).Round(time.Millisecond))
	fmt.Printf("live_callback_start_p99_ms=%.2f live_callback_end_p99_ms=%.2f sessions=%d\n", p99(starts), p99(ends), *sessions)
	return nil
}

// boundCaller is a caller whose URL is set once the server is up.
type boundCaller struct {
	provider string
	key      string
	client   *http.Client
}

func (b boundCaller) withURL(base string) caller {
	if b.provider == nginx.Name {
		return nginxCaller{url: base, pushKey: b.key, client: b.client}
	}
	return tencentCaller{url: base, key: b.key, client: b.client}
}

// selfServe builds the provider's real callback handler over sink.
func selfServe(provider string, sink stream.Sink) (http.Handler, boundCaller, error) {
	quiet := slog.New(slog.DiscardHandler)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	switch provider {
	case tencent.Name:
		p, err := tencent.New(tencent.Config{PushDomain: "push.bench", PlayDomain: "play.bench", PushKey: "pk", PlayKey: "yk", CallbackKey: "bench-callback-key"},
			tencent.WithLogger(quiet))
		if err != nil {
			return nil, boundCaller{}, err
		}
		return withSentAt(p.Callbacks(sink)), boundCaller{provider: provider, key: "bench-callback-key", client: client}, nil
	case nginx.Name:
		p, err := nginx.New(nginx.Config{RTMPBase: "rtmp://127.0.0.1:1/live", HTTPBase: "http://127.0.0.1:1", PushKey: "bench-push-key", PlayKey: "yk"},
			nginx.WithLogger(quiet))
		if err != nil {
			return nil, boundCaller{}, err
		}
		return withSentAt(p.Callbacks(sink)), boundCaller{provider: provider, key: "bench-push-key", client: client}, nil
	}
	return nil, boundCaller{}, fmt.Errorf("-provider %q: want tencent or nginx", provider)
}

// timingSink records how long after the caller sent it each session's
// publish and disconnect reached the Sink, through the provider's handler
// (verification included). The send time rides in the X-Bench-Sent header,
// put in the request context by withSentAt.
type timingSink struct {
	mu     sync.Mutex
	starts []time.Duration
	ends   []time.Duration
	seen   map[string]bool
}

func newTimingSink() *timingSink { return &timingSink{seen: map[string]bool{}} }

func (s *timingSink) Apply(ctx context.Context, sig stream.Signal) (stream.Decision, error) {
	sent, ok := sentAt(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[sig.ID] {
		return stream.Decision{Allow: true}, nil
	}
	s.seen[sig.ID] = true
	d := time.Duration(0)
	if ok {
		d = time.Since(sent)
	}
	switch sig.Kind {
	case stream.KindPublish:
		s.starts = append(s.starts, d)
	case stream.KindDisconnect:
		s.ends = append(s.ends, d)
	}
	return stream.Decision{Allow: true}, nil
}

func (s *timingSink) latencies() (starts, ends []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.starts), slices.Clone(s.ends)
}

func p99(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[(len(s)*99+99)/100-1].Microseconds()) / 1000
}

type sentKey struct{}

// withSentAt puts the caller's X-Bench-Sent time into the request context.
func withSentAt(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ns, err := strconv.ParseInt(r.Header.Get("X-Bench-Sent"), 10, 64); err == nil {
			r = r.WithContext(context.WithValue(r.Context(), sentKey{}, time.Unix(0, ns)))
		}
		h.ServeHTTP(w, r)
	})
}

func sentAt(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(sentKey{}).(time.Time)
	return t, ok
}
