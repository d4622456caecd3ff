package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
)

// sessionUser is the user id of simulated user u as a session token names
// it (tide's user ids start with u_); the features store knows users by it.
func sessionUser(u string) string { return "u_" + u }

// benchTokens issues a real session token for every user, checked by the
// production authentication interceptor on both endpoints, which remembers
// up to remember verified tokens (auth.WithVerifiedTokens).
func benchTokens(users []string, remember int) (*auth.Tokens, []string, error) {
	tokens, err := auth.NewTokens([]auth.SigningKey{{ID: "bench", Secret: []byte("bench-feed-session-key-0123456789")}},
		auth.WithVerifiedTokens(remember))
	if err != nil {
		return nil, nil, err
	}
	all := make([]string, 0, len(users))
	for _, u := range users {
		tok, _, err := tokens.Issue(sessionUser(u))
		if err != nil {
			return nil, nil, err
		}
		all = append(all, tok)
	}
	return tokens, all, nil
}

// rawFeed is the framework's limit: a FeedService whose Rooms returns a
// fixed page of the same size and shape, doing no work.
type rawFeed struct {
	tidev1connect.UnimplementedFeedServiceHandler
	page *tidev1.RoomsResponse
}

func (r *rawFeed) Rooms(ctx context.Context, _ *connect.Request[tidev1.RoomsRequest]) (*connect.Response[tidev1.RoomsResponse], error) {
	if _, ok := auth.PrincipalFrom(ctx); !ok {
		return nil, connect.NewError(connect.CodeUnauthenticated, nil)
	}
	return connect.NewResponse(r.page), nil
}

// startServer serves h (mounted with the production server's options and
// its session-token authentication, as tide serve does) on a loopback port
// until ctx ends; it returns the URL.
func startServer(ctx context.Context, tokens *auth.Tokens, mount func(srv *serving.Server, opts []connect.HandlerOption)) (string, error) {
	srv := serving.New(serving.WithLogger(quietLogger()))
	srv.Use(auth.NewInterceptor(auth.NewAuthenticator(tokens, nil), auth.WithInterceptorLogger(quietLogger())))
	mount(srv, srv.ConnectOptions())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go srv.Serve(ctx, ln)
	return "http://" + ln.Addr().String(), nil
}

// client is a Connect client of FeedService.Rooms (binary protobuf over
// HTTP/1.1) that checks and counts each page's cards rather than decoding
// them (pageCodec). It keeps every connection it opened for reuse (up to
// maxIdleConns), as each user's phone keeps its own: an open loop that
// outruns the conns callers it was sized for must not close and redial
// connections, which would leave loopback ports in TIME_WAIT and charge the
// server for handshakes no real client makes per request. Without gzip it
// does not ask for compressed responses: on loopback compression only
// burns CPU.
func client(url string, conns int, gzip bool) *connect.Client[tidev1.RoomsRequest, roomsPage] {
	idle := max(conns*2, maxIdleConns)
	tr := &http.Transport{MaxIdleConns: idle, MaxIdleConnsPerHost: idle, IdleConnTimeout: time.Minute}
	opts := []connect.ClientOption{connect.WithCodec(pageCodec{})}
	if !gzip {
		opts = append(opts, connect.WithAcceptCompression("gzip", nil, nil))
	}
	return connect.NewClient[tidev1.RoomsRequest, roomsPage](&http.Client{Transport: tr},
		url+tidev1connect.FeedServiceRoomsProcedure, opts...)
}

// maxIdleConns bounds the connections a client keeps open between requests.
const maxIdleConns = 4096

// caller makes one request as the user pick chooses (pick modulo the
// tokens). Each load goroutine has a caller of its own, which reuses its
// request message: the generator stands for phones that are not on this
// machine, so what it spends per request is kept small.
type caller func(ctx context.Context, pick uint64) error

// callerSource gives each load goroutine its own caller.
type callerSource func() caller

// roomsCaller asks for a page of the room feed with a chosen user's token.
func roomsCaller(cl *connect.Client[tidev1.RoomsRequest, roomsPage], tokens []string, page int32) callerSource {
	bearer := make([][]string, len(tokens)) // header values, built once
	for i, t := range tokens {
		bearer[i] = []string{"Bearer " + t}
	}
	return func() caller {
		req := connect.NewRequest(&tidev1.RoomsRequest{PageSize: page})
		return func(ctx context.Context, pick uint64) error {
			req.Header()["Authorization"] = bearer[pick%uint64(len(bearer))]
			res, err := cl.CallUnary(ctx, req)
			if err != nil {
				return err
			}
			if res.Msg.cards != int(page) {
				return fmt.Errorf("%d items, want %d", res.Msg.cards, page)
			}
			return nil
		}
	}
}

// closedLoop runs conc callers back to back for d and returns the
// completed requests per second.
func closedLoop(ctx context.Context, src callerSource, conc int, d time.Duration) (float64, error) {
	// The run ends by the clock, not by a deadline on ctx: a deadline would
	// travel to the server as a timeout and fail the requests in flight.
	end := time.Now().Add(d)
	var done atomic.Int64
	var first firstError
	var wg sync.WaitGroup
	start := time.Now()
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			call := src()
			for ctx.Err() == nil && time.Now().Before(end) {
				if err := call(ctx, rng.Uint64()); err != nil {
					if ctx.Err() == nil {
						first.set(err)
					}
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := first.get(); err != nil {
		return 0, err
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

// target is one endpoint under test.
type target struct {
	name string
	best float64
	cpu  time.Duration // server CPU time while it was driven
	gen  time.Duration // the load generator's CPU time meanwhile
	reqs float64       // requests it answered meanwhile
}

// maxThroughput drives each target at each concurrency and keeps its
// highest sustained rate: the median of its slices at a level (so one lucky
// or unlucky slice does not decide), the best level. The targets take turns
// in short slices (rounds per level, a different one first each round), so
// that other load on the machine hits them alike.
func maxThroughput(g *loadgen, targets []*target, levels []int, d time.Duration, rounds int) error {
	for _, c := range levels {
		runs := make([][]float64, len(targets))
		for round := range rounds {
			for i := range targets { // a different target goes first each round
				k := (round + i) % len(targets)
				t := targets[k]
				ps := sampleProc()
				r, err := g.closed(t.name, c, d/time.Duration(rounds))
				if err != nil {
					return fmt.Errorf("%s at concurrency %d: %w", t.name, c, err)
				}
				qps := r.QPS
				t.cpu += sampleProc().cpu - ps.cpu
				t.gen += r.CPU
				t.reqs += qps * (d / time.Duration(rounds)).Seconds()
				runs[k] = append(runs[k], qps)
			}
		}
		for k, t := range targets {
			slices.Sort(runs[k])
			med := runs[k][len(runs[k])/2]
			say("%-4s concurrency %3d → %8.0f req/s (median of %.0f)", t.name, c, med, runs[k])
			t.best = max(t.best, med)
		}
	}
	for _, t := range targets {
		say("%-4s CPU per request, all levels: server %.0f µs, load generator %.0f µs", t.name,
			float64(t.cpu.Microseconds())/max(t.reqs, 1), float64(t.gen.Microseconds())/max(t.reqs, 1))
	}
	return nil
}

// firstError keeps the first error of many goroutines.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
