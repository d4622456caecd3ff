package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
)

// pickyFeed answers with the page, except to u_bad.
type pickyFeed struct {
	rawFeed
}

func (p *pickyFeed) Rooms(ctx context.Context, req *connect.Request[tidev1.RoomsRequest]) (*connect.Response[tidev1.RoomsResponse], error) {
	if pr, ok := auth.PrincipalFrom(ctx); ok && pr.UserID == "u_bad" {
		return nil, connect.NewError(connect.CodeInternal, errors.New("refused"))
	}
	return p.rawFeed.Rooms(ctx, req)
}

// The open loop offers every scheduled request, measures each one, and
// counts each failure (through the real session-token interceptor), so
// that a run that lost requests cannot pass for a good one.
func TestOpenLoopCountsFailures(t *testing.T) {
	ctx := t.Context()
	page := &tidev1.RoomsResponse{Items: []*tidev1.RoomItem{{RoomId: "r1"}, {RoomId: "r2"}}}
	url, all := serveTest(t, []string{"good", "bad"}, &pickyFeed{rawFeed{page: page}})
	calls := map[string]callerSource{"feed": roomsCaller(client(url, 4, false), all, 2)}

	const rate, n = 400, 200 // half a second
	res := runLoadCmd(ctx, calls, loadCmd{Op: "open", Target: "feed", Rate: rate, Conc: 4, Dur: n * time.Second / rate})
	if res.Err != "" {
		t.Fatal(res.Err)
	}
	wantFailed := 0 // the requests that drew u_bad's token, as the open loop picks it
	for i := range n {
		if pickFor(i)%uint64(len(all)) == 1 {
			wantFailed++
		}
	}
	if len(res.Lat) != n || res.Failed != wantFailed || wantFailed == 0 {
		t.Fatalf("%d latencies, %d failed; want %d and %d", len(res.Lat), res.Failed, n, wantFailed)
	}
	if !slices.IsSorted(res.Lat) || res.Lat[0] <= 0 {
		t.Errorf("latencies not sorted or not measured: first %v", res.Lat[0])
	}
	if res.FirstErr == "" {
		t.Error("no first error reported")
	}
	if res.CPU <= 0 {
		t.Error("the load generator did not report its CPU time")
	}

	// The answer survives the trip from the load generator process.
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(res); err != nil {
		t.Fatal(err)
	}
	var back loadResult
	if err := json.NewDecoder(&buf).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Lat, res.Lat) || back.Failed != res.Failed || back.FirstErr != res.FirstErr {
		t.Errorf("decoded %+v, want %+v", back, res)
	}
	if err := report(back, "feed", rate); err == nil {
		t.Error("report accepted a run with failed requests")
	}

	// A closed loop stops at the first failure and says so.
	if res := runLoadCmd(ctx, calls, loadCmd{Op: "closed", Target: "feed", Conc: 2, Dur: time.Second}); res.Err == "" {
		t.Error("closed loop over a failing endpoint reported no error")
	}
	if res := runLoadCmd(ctx, calls, loadCmd{Op: "open", Target: "nope", Rate: 1, Conc: 1, Dur: time.Second}); res.Err == "" {
		t.Error("unknown target accepted")
	}
	if res := runLoadCmd(ctx, calls, loadCmd{Op: "open", Target: "feed", Rate: 1, Dur: time.Second}); res.Err == "" {
		t.Error("an open loop without workers accepted")
	}
}

// slowFeed answers after a fixed delay.
type slowFeed struct {
	rawFeed
	delay time.Duration
}

func (s *slowFeed) Rooms(ctx context.Context, req *connect.Request[tidev1.RoomsRequest]) (*connect.Response[tidev1.RoomsResponse], error) {
	time.Sleep(s.delay)
	return s.rawFeed.Rooms(ctx, req)
}

// When the workers cannot keep up, requests wait for one, and the open loop
// counts that wait: latencies run from each request's scheduled time, not
// from when it was sent (no coordinated omission).
func TestOpenLoopCountsQueueing(t *testing.T) {
	ctx := t.Context()
	const delay = 10 * time.Millisecond
	page := &tidev1.RoomsResponse{Items: []*tidev1.RoomItem{{RoomId: "r1"}}}
	url, all := serveTest(t, []string{"a", "b"}, &slowFeed{rawFeed{page: page}, delay})
	calls := map[string]callerSource{"feed": roomsCaller(client(url, 1, false), all, 1)}
	// One worker, 40 requests offered over 0.2 s that take at least 0.4 s
	// to serve one after another: the last is at least 0.2 s late.
	const rate, n = 200, 40
	res := runLoadCmd(ctx, calls, loadCmd{Op: "open", Target: "feed", Rate: rate, Conc: 1, Dur: n * time.Second / rate})
	if res.Err != "" || res.Failed != 0 || len(res.Lat) != n {
		t.Fatalf("err %q, %d failed, %d latencies; want none, none, %d", res.Err, res.Failed, len(res.Lat), n)
	}
	minLast := n*delay - (n-1)*time.Second/rate
	if last := res.Lat[n-1]; last < minLast {
		t.Errorf("slowest latency %v, want at least %v (the queueing behind one worker)", last, minLast)
	}
	if res.MaxLate < minLast-delay {
		t.Errorf("max lateness %v, want at least %v", res.MaxLate, minLast-delay)
	}
}

// serveTest serves h behind the real session-token interceptor until the
// test ends and returns its URL and a token for each user.
func serveTest(t *testing.T, users []string, h tidev1connect.FeedServiceHandler) (string, []string) {
	t.Helper()
	tokens, all, err := benchTokens(users, auth.DefaultVerifiedTokens)
	if err != nil {
		t.Fatal(err)
	}
	url, err := startServer(t.Context(), tokens, func(srv *serving.Server, opts []connect.HandlerOption) {
		srv.Mount(tidev1connect.NewFeedServiceHandler(h, opts...))
	})
	if err != nil {
		t.Fatal(err)
	}
	return url, all
}
