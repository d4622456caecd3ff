package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// featureWriter applies viewer traffic to the features store while the
// feed is measured, as Follow does in tide serve: rate events a second
// (room enters, likes and leaves of random users in the live rooms), in
// batches every 10 ms. It stops when ctx ends; applied counts the events.
type featureWriter struct {
	applied atomic.Int64
}

func startWriter(ctx context.Context, w *world, rate int) *featureWriter {
	fw := &featureWriter{}
	if rate <= 0 || len(w.live) == 0 {
		return fw
	}
	go func() {
		rng := rand.New(rand.NewPCG(7, 7))
		types := []tidev1.EventType{tidev1.EventType_EVENT_TYPE_ROOM_ENTER, tidev1.EventType_EVENT_TYPE_LIKE,
			tidev1.EventType_EVENT_TYPE_ROOM_LEAVE}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		per := max(1, rate/100)
		var seq int64
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := time.Now().UnixMilli()
			batch := make([]*tidev1.Event, per)
			for i := range batch {
				seq++
				batch[i] = &tidev1.Event{EventId: fmt.Sprintf("bench-w-%d", seq), Type: types[rng.IntN(len(types))],
					Ts: now, ReceivedAt: now, UserId: sessionUser(w.users[rng.IntN(len(w.users))]), RoomId: w.live[rng.IntN(len(w.live))]}
			}
			w.store.ApplyBatch(batch)
			fw.applied.Add(int64(per))
		}
	}()
	return fw
}
