package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/live"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/train"
	"github.com/tide-live/tide/serving/feed"
)

// world is what the feed serves from: a simulated live-commerce world
// (livesim: latent tastes, rooms, schedules), the online features of its
// users and rooms, the catalog and a model trained on the users' history.
type world struct {
	store   *features.Store
	catalog *feed.Catalog
	model   *ranker.Model
	users   []string
	live    []string
}

// buildWorld simulates the world, trains the room model on the users'
// histories and loads the features store with live rooms, room heat and
// every user's recent engagement.
func buildWorld(ctx context.Context, f flags) (*world, error) {
	now := time.Now().Truncate(time.Millisecond)
	w := &world{store: features.NewStore(), catalog: feed.NewCatalog()}
	sim := livesim.New(livesim.WithUsers(f.users), livesim.WithMerchants(f.merchants),
		livesim.WithSeed(f.seed), livesim.WithStart(now))
	rooms := sim.Rooms()
	w.users = sim.Users()
	if len(rooms) < f.rooms {
		return nil, fmt.Errorf("the simulated world has %d rooms, fewer than -rooms %d: raise -merchants", len(rooms), f.rooms)
	}
	say("world: %d users, %d rooms, %d merchants", len(w.users), len(rooms), f.merchants)
	infos := make([]feed.RoomInfo, len(rooms))
	for i, r := range rooms {
		infos[i] = feed.RoomInfo{Room: live.Room{ID: r.ID, MerchantID: r.MerchantID, Category: r.Category}}
	}
	w.catalog.PutRooms(infos...)

	// Histories: each user watched rooms drawn by their latent affinity
	// over the past week; the last few are their online features, all of
	// them train the model.
	rng := rand.New(rand.NewPCG(uint64(f.seed), 99))
	x := ranker.NewInteractions()
	type watch struct {
		room int
		at   int64 // ms
		aff  float64
	}
	var recent []watch
	var events []*tidev1.Event
	seq := 0
	mk := func(typ tidev1.EventType, user string, r livesim.Room, at int64) *tidev1.Event {
		seq++
		e := &tidev1.Event{EventId: "b" + strconv.Itoa(seq), Type: typ, Ts: at, ReceivedAt: at, UserId: sessionUser(user),
			RoomId: r.ID, MerchantId: r.MerchantID}
		events = append(events, e)
		return e
	}
	week := (7 * 24 * time.Hour).Milliseconds()
	rows := 0
	for ui, u := range w.users {
		recent = recent[:0]
		for range f.draws {
			ri := rng.IntN(len(rooms))
			a := sim.Affinity(u, rooms[ri].ID)
			if rng.Float64() < a*a {
				recent = append(recent, watch{room: ri, at: now.UnixMilli() - rng.Int64N(week), aff: a})
			}
		}
		slices.SortFunc(recent, func(a, b watch) int { return int(a.at - b.at) })
		for _, wt := range recent {
			x.Add(u, rooms[wt.room].ID, wt.at/1000, float32(0.2+0.8*wt.aff))
			rows++
		}
		// The last five, replayed into the features as the last hour.
		tail := recent[max(0, len(recent)-5):]
		for k, wt := range tail {
			at := now.UnixMilli() - int64(len(tail)-k)*10*60_000 + rng.Int64N(60_000)
			mk(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, u, rooms[wt.room], at)
			l := mk(tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, u, rooms[wt.room], at+int64(30_000+wt.aff*600_000))
			l.Value = l.Ts - at
			if wt.aff > 0.7 && rng.IntN(3) == 0 {
				mk(tidev1.EventType_EVENT_TYPE_FOLLOW, u, rooms[wt.room], at+1000)
			}
		}
		if (ui+1)%25_000 == 0 {
			say("histories: %d/%d users, %d interactions", ui+1, len(w.users), rows)
		}
	}

	// Live now: the f.rooms most popular rooms (plus heat from viewers), the
	// rest announced (预告) from their schedules.
	order := make([]int, len(rooms))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if rooms[a].Popularity > rooms[b].Popularity {
			return -1
		}
		if rooms[a].Popularity < rooms[b].Popularity {
			return 1
		}
		return a - b
	})
	startAt := now.Add(-time.Hour).UnixMilli()
	for _, ri := range order[:f.rooms] {
		e := mk(tidev1.EventType_EVENT_TYPE_STREAM_START, "", rooms[ri], startAt)
		e.LiveSessionId = rooms[ri].ID + "-now"
		w.live = append(w.live, rooms[ri].ID)
	}
	var sched []feed.Announcement
	for _, ri := range order[f.rooms:] {
		for _, win := range sim.Windows(rooms[ri].ID, now, now.Add(24*time.Hour)) {
			if win.Start.After(now) {
				sched = append(sched, feed.Announcement{RoomID: win.RoomID, LiveSessionID: win.LiveSessionID, Start: win.Start, End: win.End})
			}
		}
	}
	w.catalog.SetSchedule(sched)
	for range f.heat { // users entering live rooms by popularity, in the last five minutes
		ri := order[min(int(rng.ExpFloat64()*float64(f.rooms)/4), f.rooms-1)]
		mk(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, w.users[rng.IntN(len(w.users))], rooms[ri], now.UnixMilli()-rng.Int64N(300_000))
	}
	slices.SortStableFunc(events, func(a, b *tidev1.Event) int {
		if a.GetType() == tidev1.EventType_EVENT_TYPE_STREAM_START && b.GetType() != tidev1.EventType_EVENT_TYPE_STREAM_START {
			return -1 // streams start first, so viewer events find them live
		}
		if b.GetType() == tidev1.EventType_EVENT_TYPE_STREAM_START && a.GetType() != tidev1.EventType_EVENT_TYPE_STREAM_START {
			return 1
		}
		return int(a.Ts - b.Ts)
	})
	say("features: applying %d events", len(events))
	for i := 0; i < len(events); i += 10_000 {
		w.store.ApplyBatch(events[i:min(i+10_000, len(events))])
	}
	w.store.Advance(now)
	st := w.store.Stats()
	say("features: %d users, %d rooms, %d live, %d announced sessions", st.Users, st.Rooms, st.LiveRooms, len(sched))

	cfg := train.AnchorsConfig() // the room model tide train serves (no basket re-ranker)
	if f.factors >= 0 {
		cfg.MF.Factors = f.factors
	}
	say("training the room model on %d interactions (%d users, %d rooms, MF factors %d)", x.Len(), x.Users.Len(), x.NumItems(), cfg.MF.Factors)
	t0 := time.Now()
	last := time.Now()
	m, err := ranker.Train(ctx, x, cfg, ranker.WithVersion("bench"), ranker.WithProgress(func(stage string, done, total int) {
		if time.Since(last) > 2*time.Second || done == total {
			last = time.Now()
			say("training: %s %d/%d", stage, done, total)
		}
	}))
	if err != nil {
		return nil, err
	}
	say("trained in %v", time.Since(t0).Round(time.Millisecond))
	w.model = m
	return w, nil
}
