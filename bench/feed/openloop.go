package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// dispatchEvery is the shortest the open loop's dispatcher sleeps between
// handing the requests that have come due to its workers (it sleeps until
// the next one is due when that is later). Each request's latency is
// measured from its own scheduled time, so the up to dispatchEvery it waits
// for the dispatcher counts against the server, never for it.
const dispatchEvery = 500 * time.Microsecond

// openResult is what an open loop measured.
type openResult struct {
	lat      []time.Duration // from each request's scheduled time, sorted
	failed   int             // requests that got an error
	firstErr error
	maxLate  time.Duration // the latest a request was sent after its scheduled time
}

// openLoop offers rate requests per second for d, each on its schedule
// however slow the previous ones are, and returns the latencies measured
// from each request's scheduled time, so queueing counts (no coordinated
// omission). A dispatcher hands the requests that have come due to a fixed
// pool of workers goroutines, each with its own caller (and so its own
// kept connection and request message); requests wait in an unbounded
// queue when every worker is busy, and that wait is in their latency.
// Request i goes out as the user pickFor(i) chooses.
func openLoop(ctx context.Context, src callerSource, rate, workers int, d time.Duration) openResult {
	n := int(float64(rate) * d.Seconds())
	lat := make([]time.Duration, n)
	interval := time.Second / time.Duration(rate)
	due := make(chan int, n) // never blocks the dispatcher
	var failed atomic.Int64
	var first firstError
	lates := make([]time.Duration, max(1, workers))
	start := time.Now()
	at := func(i int) time.Time { return start.Add(time.Duration(i) * interval) }
	var wg sync.WaitGroup
	for w := range lates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call := src()
			for i := range due {
				sched := at(i)
				lates[w] = max(lates[w], time.Since(sched))
				if err := call(ctx, pickFor(i)); err != nil {
					failed.Add(1)
					first.set(err)
				}
				lat[i] = time.Since(sched)
			}
		}()
	}
	next, reported := 0, 0
	for next < n {
		now := time.Since(start)
		for ; next < n && time.Duration(next)*interval <= now; next++ {
			due <- next
		}
		if next-reported >= 2*rate || next == n {
			say("fixed load: %d/%d requests offered", next, n)
			reported = next
		}
		if next < n {
			time.Sleep(max(dispatchEvery, time.Until(at(next))))
		}
	}
	close(due)
	wg.Wait()
	slices.Sort(lat)
	return openResult{lat: lat, failed: int(failed.Load()), firstErr: first.get(), maxLate: slices.Max(lates)}
}

// pickFor is the user choice of the open loop's request i: a fixed
// scramble of i (splitmix64), so every run offers the same users in the
// same order and no request draws from a shared generator.
func pickFor(i int) uint64 {
	z := uint64(i) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
