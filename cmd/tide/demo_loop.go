package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/live"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/experiment"
	"github.com/tide-live/tide/serving/feed"
	"github.com/tide-live/tide/serving/feed/loop"
)

// demoExperiment is the A/B test of the closed loop: the room feed ranked by
// popularity (control) against the personalised ranking, 50/50.
const demoExperiment = `{"layers": [{"name": "ranking", "experiments": [
  {"name": "room_ranker", "share": 1, "surfaces": ["rooms"], "arms": [
    {"name": "control", "weight": 1, "params": {"ranker": "popularity"}},
    {"name": "personalised", "weight": 1, "params": {"ranker": "personalised"}}]}]}]}`

// demoLoop is the closed loop of `tide demo`: an in-process feed under the
// demo experiment, on its own online features following the events topic,
// and simulated users who respond to it through Track.
type demoLoop struct {
	store   *features.Store
	svc     *feed.Service
	applied atomic.Int64 // events the features store applied

	mu        sync.Mutex
	exposures []*tidev1.Event // EXPERIMENT_EXPOSURE events not sent yet
}

// startDemoLoop builds the loop's feed (the simulator's rooms as its
// catalog) and starts following the events topic from now. Call it before
// the traffic starts, so the feed sees the streams start.
func startDemoLoop(ctx context.Context, log *slog.Logger, brokers []string, topic string, sim *livesim.Sim) (*demoLoop, error) {
	cfg, err := experiment.Parse(strings.NewReader(demoExperiment))
	if err != nil {
		return nil, err
	}
	a, err := experiment.New(cfg)
	if err != nil {
		return nil, err
	}
	l := &demoLoop{store: features.NewStore(features.WithLogger(log))}
	x := experiment.NewExposures(a, nil, experiment.WithExposureLogger(log),
		experiment.WithEmitter(func(_ context.Context, e *tidev1.Event) {
			l.mu.Lock()
			l.exposures = append(l.exposures, e)
			l.mu.Unlock()
		}))
	cat := feed.NewCatalog()
	for _, r := range sim.Rooms() {
		cat.PutRooms(feed.RoomInfo{Room: live.Room{ID: r.ID, MerchantID: r.MerchantID, Category: r.Category}})
	}
	l.svc, err = feed.New(l.store, feed.WithCatalog(cat), feed.WithExperiments(a, x), feed.WithLogger(log))
	if err != nil {
		return nil, err
	}
	from := time.Now().Add(-time.Second)
	go func() {
		err := features.Follow(ctx, l.store, brokers, topic, features.From(from), features.WithFollowLogger(log),
			features.OnPolled(func(n int) { l.applied.Add(int64(n)) }))
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Error("demo loop: following the events topic stopped", "err", err)
		}
	}()
	return l, nil
}

// run plays the loop after the traffic: users simulated users (spread
// over the simulator's) ask for rounds pages each and respond through
// Track; then it prints the per-arm figures and the verdict.
func (l *demoLoop) run(ctx context.Context, sim *livesim.Sim, tr *demoTraffic, users, rounds int, seed int64) error {
	all := sim.Users()
	users = max(0, min(users, len(all)))
	picked := make([]string, users)
	for i := range picked {
		picked[i] = all[i*len(all)/users]
	}
	products := map[string][]loop.Product{}
	for _, p := range sim.Products() {
		products[p.MerchantID] = append(products[p.MerchantID], loop.Product{ID: p.ID, PriceFen: p.PriceFen})
	}
	// The features must have the traffic before the first round.
	base := l.settle(ctx)
	lt := &demoTraffic{client: tr.client, log: tr.log, platform: tr.platform, topic: tr.topic}
	sentExposure := map[string]bool{} // Track drops a repeated event id
	sink := func(ctx context.Context, es []*tidev1.Event) error {
		l.mu.Lock()
		for _, e := range l.exposures {
			if !sentExposure[e.GetEventId()] {
				sentExposure[e.GetEventId()] = true
				es = append(es, e)
			}
		}
		l.exposures = l.exposures[:0]
		l.mu.Unlock()
		for len(es) > 0 { // Track takes at most 500 events a call
			n := min(len(es), 500)
			lt.send(ctx, es[:n])
			es = es[n:]
		}
		return nil
	}
	// caughtUp waits until the features store has applied what Track
	// accepted, or has applied nothing new for a second.
	var short int64
	caughtUp := func(ctx context.Context) error {
		want := base + lt.accepted.Load()
		last, since := l.applied.Load(), time.Now()
		for last < want && time.Since(since) < time.Second {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
			if n := l.applied.Load(); n != last {
				last, since = n, time.Now()
			}
		}
		short = max(0, want-last)
		return nil
	}
	fmt.Fprintf(os.Stderr, "\ntide demo loop: %d users × %d rounds of %d rooms, experiment room_ranker (control: popularity, personalised), %d live rooms\n",
		users, rounds, 10, len(l.store.LiveRoomIDs()))
	start := time.Now()
	res, err := loop.Run(ctx, l.svc, sim, sink, loop.Config{
		Users: picked, Rounds: rounds, PageSize: 10, Seed: uint64(seed), Experiment: "room_ranker",
		Products: products, Sync: caughtUp,
		Progress: func(round int, r *loop.Result) {
			c, p := r.Arm("control"), r.Arm("personalised")
			fmt.Fprintf(os.Stderr, "tide demo loop: round %d/%d  ctr control %.4f personalised %.4f  events accepted %d rejected %d failed %d, not yet in the features %d  (%.1fs)\n",
				round, rounds, c.CTR(), p.CTR(), lt.accepted.Load(), lt.rejected.Load(), lt.failed.Load(), short, time.Since(start).Seconds())
		},
	})
	if res != nil {
		fmt.Println("\nClosed loop (responses drawn from the simulator's ground-truth affinity, 95% Wilson intervals):")
		res.Report(os.Stdout, "control", "personalised", 0.01)
	}
	return err
}

// settle waits until the features store has applied everything on the
// topic (no new events for a second, at most 60s) and returns the count.
func (l *demoLoop) settle(ctx context.Context) int64 {
	last, since := l.applied.Load(), time.Now()
	deadline := time.Now().Add(60 * time.Second)
	for time.Since(since) < time.Second && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		if n := l.applied.Load(); n != last {
			last, since = n, time.Now()
		}
	}
	return last
}
