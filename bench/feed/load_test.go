package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tokens, all, err := benchTokens([]string{"good", "bad"}, auth.DefaultVerifiedTokens)
	if err != nil {
		t.Fatal(err)
	}
	page := &tidev1.RoomsResponse{Items: []*tidev1.RoomItem{{RoomId: "r1"}, {RoomId: "r2"}}}
	url, err := startServer(ctx, tokens, func(srv *serving.Server, opts []connect.HandlerOption) {
		srv.Mount(tidev1connect.NewFeedServiceHandler(&pickyFeed{rawFeed{page: page}}, opts...))
	})
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]caller{"feed": roomsCaller(client(url, 4, false), all, 2)}

	const rate, n = 400, 200 // half a second
	res := runLoadCmd(ctx, calls, loadCmd{Op: "open", Target: "feed", Rate: rate, Dur: n * time.Second / rate})
	if res.Err != "" {
		t.Fatal(res.Err)
	}
	wantFailed := 0 // the requests that drew u_bad's token, as roomsCaller draws it
	for i := range n {
		if rand.New(rand.NewPCG(uint64(i), 2)).IntN(len(all)) == 1 {
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
	if res := runLoadCmd(ctx, calls, loadCmd{Op: "open", Target: "nope", Rate: 1, Dur: time.Second}); res.Err == "" {
		t.Error("unknown target accepted")
	}
}
