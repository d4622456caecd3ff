// Command feed measures FeedService.Rooms against the framework's limit,
// side by side in one run:
//
//  1. it builds a simulated world (livesim) of -users users and loads the
//     online features store with -rooms live rooms, their heat and every
//     user's recent engagement, and trains the room model on the users'
//     week of history;
//  2. it serves the real feed (feed.Service behind the Connect handler, on
//     the production server's options) and a raw Connect endpoint that
//     returns a fixed page of the same size, both on loopback;
//  3. it drives each with concurrent clients (binary Connect over HTTP/1.1)
//     at several concurrencies and keeps the highest sustained throughput;
//  4. it offers the feed a fixed load of -rate requests/s, then 70% of the
//     feed's measured peak, and measures the p99 latency from each
//     request's scheduled time.
//
// Both endpoints run the production session-token interceptor (every
// request carries a real token), and a writer applies -write-rate viewer
// events a second to the features store throughout, as Follow does.
//
// Its last line is `feed_qps=<int> feed_p99_ms=<float>
// feed_p99_at70_ms=<float> raw_qps=<int> ratio=<float>` (feed_p99_ms at
// -rate, feed_p99_at70_ms at 70% of feed_qps, ratio = feed_qps / raw_qps).
// Targets: feed_p99_ms ≤ 10, feed_p99_at70_ms ≤ 25, ratio ≥ 0.4.
//
// The server side runs with tide serve's GC target (serving/gctarget).
//
//	go run ./bench/feed                 # 100k users, 2,000 live rooms
//	go run ./bench/feed -users 20000    # a quicker run
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/feed"
	"github.com/tide-live/tide/serving/gctarget"
)

// idleFor is how long the bench measures what the server spends with no
// requests, the share of its CPU per request at a low rate that is not the
// requests'.
const idleFor = 2 * time.Second

// Targets: the figures the run is judged against.
const (
	targetP99MS     = 10
	targetP99At70MS = 25
	targetRatio     = 0.4
)

type flags struct {
	users, merchants, rooms, draws, heat int
	factors                              int
	page, rounds                         int
	levels                               string
	duration, fixedFor, refresh          time.Duration
	rate, writeRate, verifiedTokens      int
	seed                                 int64
	cpuprofile, memprofile, fixedProfile string
	rawFixed, gzip                       bool
	inprof, tracefile, genProfile        string
	loadgen                              bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench/feed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var f flags
	flag.IntVar(&f.users, "users", 100_000, "simulated users (feed requests pick one at random)")
	flag.IntVar(&f.merchants, "merchants", 1600, "simulated merchants (each has one to three rooms)")
	flag.IntVar(&f.rooms, "rooms", 2000, "live rooms")
	flag.IntVar(&f.draws, "draws", 40, "rooms each user considers in their week of history")
	flag.IntVar(&f.heat, "heat", 200_000, "viewer enters spread over the live rooms in the last five minutes")
	flag.IntVar(&f.factors, "factors", -1, "MF factors of the model (-1: the production default)")
	flag.IntVar(&f.page, "page", feed.DefaultPageSize, "items per feed page")
	flag.StringVar(&f.levels, "concurrency", "8,32,96", "client concurrencies tried for the highest throughput")
	flag.DurationVar(&f.duration, "duration", 6*time.Second, "time per concurrency level and endpoint")
	flag.IntVar(&f.rounds, "rounds", 5, "turns the endpoints take per concurrency level (at least 5; medians are reported)")
	flag.IntVar(&f.rate, "rate", 1000, "fixed offered load for the p99, requests/s")
	flag.IntVar(&f.writeRate, "write-rate", 2000, "viewer events a second applied to the features during the run (0: none)")
	flag.DurationVar(&f.fixedFor, "fixed-for", 10*time.Second, "duration of the fixed load")
	flag.Int64Var(&f.seed, "seed", 1, "simulation seed")
	flag.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of the feed's throughput phase")
	flag.StringVar(&f.fixedProfile, "fixed-cpuprofile", "", "write a CPU profile of the feed at the fixed -rate")
	flag.StringVar(&f.memprofile, "memprofile", "", "write an allocation profile after the throughput phase")
	flag.BoolVar(&f.rawFixed, "raw-fixed", false, "also measure the raw endpoint's latency at the fixed load (for comparison)")
	flag.StringVar(&f.inprof, "inprocess-profile", "", "write a CPU profile of in-process feed requests")
	flag.StringVar(&f.genProfile, "loadgen-cpuprofile", "", "write a CPU profile of the load generator process")
	flag.StringVar(&f.tracefile, "trace", "", "write an execution trace of the load at 70% of the peak")
	flag.BoolVar(&f.gzip, "gzip", false, "clients accept gzip-compressed responses (both endpoints)")
	flag.DurationVar(&f.refresh, "refresh", feed.DefaultTuning().RefreshEvery, "how often the feed rebuilds its room snapshot besides live-set changes")
	flag.IntVar(&f.verifiedTokens, "verified-tokens", auth.DefaultVerifiedTokens, "verified session tokens the server remembers (0: verify every call in full)")
	flag.BoolVar(&f.loadgen, "loadgen", false, "run as the load generator process (the bench starts it; commands on stdin)")
	flag.Parse()
	if f.loadgen {
		return runLoadgen(ctx)
	}
	if f.rounds < 5 {
		return fmt.Errorf("-rounds %d: at least 5, so a median is not one lucky slice", f.rounds)
	}
	var levels []int
	for _, s := range strings.Split(f.levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-concurrency: bad level %q", s)
		}
		levels = append(levels, n)
	}
	// The server side runs with the GC target tide serve sets (GOGC 200
	// unless GOGC is set); the load generator keeps Go's default.
	gc, err := gctarget.ApplyEnv(os.Getenv)
	if err != nil {
		return err
	}
	say("GOMAXPROCS %d, server GC percent %d (set here: %v)", runtime.GOMAXPROCS(0), gc.Percent, gc.SetPercent)

	w, err := buildWorld(ctx, f)
	if err != nil {
		return err
	}
	tune := feed.DefaultTuning()
	tune.RefreshEvery = f.refresh
	svc, err := feed.New(w.store, feed.WithRoomModel(ranker.NewStore(w.model)), feed.WithCatalog(w.catalog),
		feed.WithLogger(quietLogger()), feed.WithTuning(tune))
	if err != nil {
		return err
	}
	t0 := time.Now()
	svc.Refresh()
	say("snapshot of the live rooms built in %v (rebuilt on every live-set change and each second)", time.Since(t0).Round(time.Microsecond))
	// One in-process page, to check the world and to build the raw page
	// from a real response.
	sample, err := svc.Rooms(ctx, sessionUser(w.users[0]), &tidev1.RoomsRequest{PageSize: int32(f.page)})
	if err != nil {
		return err
	}
	if len(sample.GetItems()) != f.page {
		return fmt.Errorf("the feed returned %d items, want %d", len(sample.GetItems()), f.page)
	}
	tokens, userTokens, err := benchTokens(w.users, f.verifiedTokens)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	writer := startWriter(sctx, w, f.writeRate)
	say("a writer applies %d viewer events/s to the features throughout", f.writeRate)
	feedURL, err := startServer(sctx, tokens, func(srv *serving.Server, opts []connect.HandlerOption) {
		srv.Mount(feed.NewHandler(svc).Mount(opts...))
	})
	if err != nil {
		return err
	}
	raw := &rawFeed{page: sample}
	rawURL, err := startServer(sctx, tokens, func(srv *serving.Server, opts []connect.HandlerOption) {
		srv.Mount(tidev1connect.NewFeedServiceHandler(raw, opts...))
	})
	if err != nil {
		return err
	}
	maxConc := 0
	for _, c := range levels {
		maxConc = max(maxConc, c)
	}
	g, err := startLoadgen(sctx, loadSetup{URLs: map[string]string{"feed": feedURL, "raw": rawURL},
		Tokens: userTokens, Page: int32(f.page), Conns: maxConc, Gzip: f.gzip, CPUProfile: f.genProfile})
	if err != nil {
		return err
	}
	defer g.close()
	say("clients: a load generator process, binary Connect over HTTP/1.1 on loopback with session tokens, gzip responses %v", f.gzip)

	say("warming up")
	if _, err := g.closed("feed", 8, time.Second); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	if _, err := g.closed("raw", 8, time.Second); err != nil {
		return fmt.Errorf("raw: %w", err)
	}
	if f.inprof != "" {
		pf, err := os.Create(f.inprof)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(pf)
		for range 4 {
			inProcess(ctx, svc, w.users, f.page)
		}
		pprof.StopCPUProfile()
		pf.Close()
	}
	if err := inProcess(ctx, svc, w.users, f.page); err != nil {
		return err
	}
	say("highest sustained throughput, the raw Connect endpoint (a fixed page of %d) and the feed (%d live rooms, %d users) taking turns:",
		f.page, len(w.live), len(w.users))
	stopProf, err := record(f.cpuprofile, pprof.StartCPUProfile, pprof.StopCPUProfile)
	if err != nil {
		return err
	}
	rawT, feedT := &target{name: "raw"}, &target{name: "feed"}
	err = maxThroughput(g, []*target{rawT, feedT}, levels, f.duration, f.rounds)
	stopProf()
	if err != nil {
		return err
	}
	rawQPS, feedQPS := rawT.best, feedT.best
	if f.memprofile != "" {
		pf, err := os.Create(f.memprofile)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("allocs").WriteTo(pf, 0); err != nil {
			return err
		}
		pf.Close()
	}
	idle := sampleProc()
	time.Sleep(idleFor)
	say("server at rest (the writer, snapshot refreshes and their GC, no requests): %.0f ms of CPU a second",
		float64((sampleProc().cpu-idle.cpu).Microseconds())/1000/idleFor.Seconds())
	say("feed at a fixed %d requests/s for %v:", f.rate, f.fixedFor)
	stopProf, err = record(f.fixedProfile, pprof.StartCPUProfile, pprof.StopCPUProfile)
	if err != nil {
		return err
	}
	ps := sampleProc()
	fixed, err := g.open("feed", f.rate, maxConc, f.fixedFor)
	stopProf()
	if err != nil {
		return err
	}
	sayServerCost(ps, len(fixed.Lat), fixed.CPU)
	if err := report(fixed, "feed", f.rate); err != nil {
		return err
	}
	p99 := percentile(fixed.Lat, 0.99)
	if f.rawFixed {
		rf, err := g.open("raw", f.rate, maxConc, f.fixedFor)
		if err != nil {
			return err
		}
		if err := report(rf, "raw", f.rate); err != nil {
			return err
		}
	}
	at70 := max(1, int(0.7*feedQPS))
	say("feed at 70%% of its peak, %d requests/s for %v:", at70, f.fixedFor)
	stopTrace, err := record(f.tracefile, trace.Start, trace.Stop)
	if err != nil {
		return err
	}
	ps = sampleProc()
	res70, err := g.open("feed", at70, maxConc, f.fixedFor)
	stopTrace()
	if err != nil {
		return err
	}
	sayServerCost(ps, len(res70.Lat), res70.CPU)
	if err := report(res70, "feed", at70); err != nil {
		return err
	}
	p99at70 := percentile(res70.Lat, 0.99)
	say("the writer applied %d events to the features during the run", writer.applied.Load())
	ratio := feedQPS / rawQPS
	p99ms := float64(p99.Microseconds()) / 1000
	p99at70ms := float64(p99at70.Microseconds()) / 1000
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	say("targets: feed_p99_ms %.2f ≤ %d %s; feed_p99_at70_ms %.2f ≤ %d %s; ratio %.3f ≥ %.1f %s", p99ms, targetP99MS,
		verdict(p99ms <= targetP99MS), p99at70ms, targetP99At70MS, verdict(p99at70ms <= targetP99At70MS),
		ratio, targetRatio, verdict(ratio >= targetRatio))
	fmt.Printf("feed_qps=%d feed_p99_ms=%.2f feed_p99_at70_ms=%.2f raw_qps=%d ratio=%.3f\n",
		int(feedQPS), p99ms, p99at70ms, int(rawQPS), ratio)
	return nil
}

// record starts a CPU profile or execution trace into the file at path
// (nothing for an empty path) and returns what stops it.
func record(path string, start func(io.Writer) error, stop func()) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { stop(); f.Close() }, nil
}

// report prints what an open loop at rate measured, and fails the run if
// any request failed: a run that lost requests has no p99 to show.
func report(r loadResult, name string, rate int) error {
	lat := r.Lat
	if len(lat) == 0 {
		return fmt.Errorf("%s: no requests measured at %d/s", name, rate)
	}
	say("%s latency at %d/s: p50 %v, p99 %v, p99.9 %v, max %v (the generator sent requests at most %v late)", name, rate,
		percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 0.999), lat[len(lat)-1], r.MaxLate.Round(time.Microsecond))
	if r.Failed > 0 {
		return fmt.Errorf("%s: %d of %d requests failed at %d/s (first: %s)", name, r.Failed, len(lat), rate, r.FirstErr)
	}
	return nil
}

// inProcess reports the feed's own work per request (Service.Rooms called
// directly, one goroutine): time, bytes and allocations.
func inProcess(ctx context.Context, svc *feed.Service, users []string, page int) error {
	const n = 2000
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	for i := range n {
		if _, err := svc.Rooms(ctx, sessionUser(users[(i*7919)%len(users)]), &tidev1.RoomsRequest{PageSize: int32(page)}); err != nil {
			return err
		}
	}
	d := time.Since(start)
	runtime.ReadMemStats(&m1)
	say("in-process: %.1f µs, %d B and %d allocations of feed work per request", float64(d.Microseconds())/n,
		(m1.TotalAlloc-m0.TotalAlloc)/n, (m1.Mallocs-m0.Mallocs)/n)
	return nil
}

// say prints progress to stderr, so stdout holds only the result line.
func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
