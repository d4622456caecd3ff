// Package loop closes the loop between the room feed and simulated viewers:
// each round, every simulated user asks the feed for a page, responds to it
// according to the simulator's ground truth (their latent affinity for each
// room and a position bias), and the responses go back as real events
// (ROOM_IMPRESSION, ROOM_ENTER, ORDER_CREATED, ORDER_PAID) stamped with the
// request id, position and experiment arms, so the online features learn
// from them before the next round. The outcome is counted per experiment
// arm, with Wilson intervals, a two-proportion z-test and a z-test
// clustered by user (the unit of randomisation; see Result.Report).
package loop

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Feed is the room feed under test (*feed.Service).
type Feed interface {
	Rooms(ctx context.Context, userID string, req *tidev1.RoomsRequest) (*tidev1.RoomsResponse, error)
}

// Truth is the simulator's ground truth (*livesim.Sim): how much a user
// likes a room, in [0, 1].
type Truth interface {
	Affinity(userID, roomID string) float64
}

// Sink sends a batch of response events (e.g. through Track). It may keep
// the slice.
type Sink func(ctx context.Context, events []*tidev1.Event) error

// Product is what a viewer may order in a merchant's room.
type Product struct {
	ID       string
	PriceFen int64
}

// Config is one closed-loop run.
type Config struct {
	Users    []string // the simulated viewers, in request order
	Rounds   int      // feed requests per user
	PageSize int      // items per page (default 10)
	Batch    int      // a Sink call gets about this many events (default 500; a page's events are not split)
	Seed     uint64   // seed of the responses
	// Experiment names the experiment whose arm a response is counted
	// under (the key of RoomsResponse.experiments); users outside it count
	// under ArmNone.
	Experiment string
	// Products lists, per merchant id, what a viewer who enters the
	// merchant's room may order (one is drawn at random; none: the order
	// events carry no product_id and no value).
	Products map[string][]Product
	// Now is the time of a round's events (default time.Now).
	Now func() time.Time
	// Sync runs after each round's events are sent: it waits until the
	// feed's features have them, so the next round sees them (nil: no wait).
	Sync func(ctx context.Context) error
	// Progress, when set, is called after each round.
	Progress func(round int, r *Result)
}

// ArmNone is the arm of users outside Config.Experiment.
const ArmNone = "none"

// EnterProb is the ground-truth probability that a viewer with affinity a
// for the room shown at position pos (0-based) enters it: the simulator's
// own attraction (0.05 + 0.9a², as livesim's browsing viewers) times the
// position bias 1/log2(pos+2).
func EnterProb(a float64, pos int) float64 {
	return (0.05 + 0.9*a*a) / math.Log2(float64(pos)+2)
}

// OrderProb is the ground-truth probability that a viewer with affinity a
// who entered a room orders there.
func OrderProb(a float64) float64 { return 0.3 * a }

// Run plays cfg.Rounds rounds. It stops at the first error of the feed, the
// sink or Sync, returning what was counted so far with the error.
func Run(ctx context.Context, f Feed, truth Truth, sink Sink, cfg Config) (*Result, error) {
	if cfg.PageSize <= 0 {
		cfg.PageSize = 10
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if f == nil || truth == nil || sink == nil {
		return nil, errors.New("loop: feed, truth and sink are required")
	}
	res := newResult()
	buf := make([]*tidev1.Event, 0, cfg.Batch)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		err := sink(ctx, buf)
		buf = make([]*tidev1.Event, 0, cfg.Batch)
		if err != nil {
			return fmt.Errorf("loop: sending responses: %w", err)
		}
		return nil
	}
	for round := range cfg.Rounds {
		t0 := cfg.Now().UnixMilli()
		for ui, user := range cfg.Users {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			resp, err := f.Rooms(ctx, user, &tidev1.RoomsRequest{PageSize: int32(cfg.PageSize)})
			if err != nil {
				return res, fmt.Errorf("loop: feed for %s: %w", user, err)
			}
			arm := ArmNone
			if a, ok := resp.GetExperiments()[cfg.Experiment]; ok {
				arm = a
			}
			ts := t0 + int64(ui%1000) // spread a round over a second
			rng := rand.New(rand.NewPCG(cfg.Seed, hashString(user)^uint64(round)<<40))
			st := res.arm(arm)
			before := *st
			buf = respond(buf, resp, user, arm, ts, rng, truth, cfg.Products, st)
			res.addUser(user, arm, st.Impressions-before.Impressions, st.Enters-before.Enters, st.Orders-before.Orders)
			if len(buf) >= cfg.Batch {
				if err := flush(); err != nil {
					return res, err
				}
			}
		}
		if err := flush(); err != nil {
			return res, err
		}
		if cfg.Sync != nil {
			if err := cfg.Sync(ctx); err != nil {
				return res, fmt.Errorf("loop: round %d: %w", round+1, err)
			}
		}
		res.Rounds = round + 1
		if cfg.Progress != nil {
			cfg.Progress(round+1, res)
		}
	}
	return res, nil
}

// respond draws one viewer's response to a page and appends its events.
func respond(out []*tidev1.Event, resp *tidev1.RoomsResponse, user, arm string, ts int64, rng *rand.Rand,
	truth Truth, products map[string][]Product, st *ArmStats) []*tidev1.Event {
	exps := resp.GetExperiments()
	req := resp.GetRequestId()
	st.Requests++
	ev := func(kind string, typ tidev1.EventType, it *tidev1.RoomItem, at int64) *tidev1.Event {
		pos := strconv.Itoa(int(it.GetPosition()))
		e := &tidev1.Event{EventId: "loop-" + kind + "-" + req + "-" + pos, Type: typ, Ts: at, UserId: user,
			RoomId: it.GetRoomId(), MerchantId: it.GetMerchantId(), LiveSessionId: it.GetLiveSessionId(),
			RequestId: req, Position: it.GetPosition(), Experiments: exps}
		out = append(out, e)
		return e
	}
	for k, it := range resp.GetItems() {
		if it.GetStatus() != tidev1.RoomStatus_ROOM_STATUS_LIVE {
			continue // an announced room cannot be entered yet
		}
		st.Impressions++
		ev("i", tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, it, ts)
		a := truth.Affinity(user, it.GetRoomId())
		if rng.Float64() >= EnterProb(a, k) {
			continue
		}
		st.Enters++
		ev("e", tidev1.EventType_EVENT_TYPE_ROOM_ENTER, it, ts+1)
		if rng.Float64() >= OrderProb(a) {
			continue
		}
		st.Orders++
		var p Product
		if ps := products[it.GetMerchantId()]; len(ps) > 0 {
			p = ps[rng.IntN(len(ps))]
		}
		st.GMVFen += p.PriceFen
		orderID := "loop-o-" + req + "-" + strconv.Itoa(int(it.GetPosition()))
		for _, typ := range []tidev1.EventType{tidev1.EventType_EVENT_TYPE_ORDER_CREATED, tidev1.EventType_EVENT_TYPE_ORDER_PAID} {
			kind := "oc"
			if typ == tidev1.EventType_EVENT_TYPE_ORDER_PAID {
				kind = "op"
			}
			e := ev(kind, typ, it, ts+2)
			e.ProductId, e.Value, e.Attrs = p.ID, p.PriceFen, map[string]string{"order_id": orderID}
		}
	}
	return out
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
