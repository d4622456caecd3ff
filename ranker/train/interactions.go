package train

import (
	"slices"
	"time"

	"github.com/tide-live/tide/features/offline"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
)

// FromMatrix turns an extracted interaction matrix into the ranker's
// interaction log: one row per (user, item) pair with its summed weight and
// the time of its latest interaction.
func FromMatrix(m *offline.InteractionMatrix) *ranker.Interactions {
	x := ranker.NewInteractions()
	x.User = make([]ranker.UserID, 0, m.NNZ())
	x.Item = make([]ranker.ItemID, 0, m.NNZ())
	x.Time = make([]int64, 0, m.NNZ())
	x.Weight = make([]float32, 0, m.NNZ())
	items := make([]ranker.ItemID, len(m.Items))
	for j, id := range m.Items {
		items[j] = ranker.ItemID(x.Items.Intern(id))
	}
	for u, id := range m.Users {
		uid := ranker.UserID(x.Users.Intern(id))
		cols, vals, times := m.Row(u)
		for k, c := range cols {
			x.AddIndexed(uid, items[c], times[k], vals[k])
		}
	}
	return x
}

// Accumulator collects the interactions of an event stream in memory with
// the same weights and item definitions as features/offline's ClickHouse
// extraction (products by product_id; anchors, the room's merchant_id, from
// room events; a ROOM_LEAVE weighed by its dwell), so a simulated stream
// trains the same models `tide train` trains from ClickHouse. Only signed-in
// users count.
type Accumulator struct {
	w     offline.Weights
	users *ranker.IDMap
	items [2]*ranker.IDMap
	rows  [2][]accRow
}

type accRow struct {
	user, item int32
	t          int64 // ms
	w          float32
}

// NewAccumulator returns an empty accumulator weighing events by w.
func NewAccumulator(w offline.Weights) *Accumulator {
	return &Accumulator{w: w, users: ranker.NewIDMap(), items: [2]*ranker.IDMap{ranker.NewIDMap(), ranker.NewIDMap()}}
}

// Weight returns the item kind, item id and weight of e, and false when e
// is not an interaction.
func Weight(w offline.Weights, e *tidev1.Event) (kind offline.ItemKind, item string, weight float64, ok bool) {
	p, m := e.GetProductId(), e.GetMerchantId()
	switch e.GetType() {
	case tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK:
		return offline.Products, p, w.ProductClick, p != ""
	case tidev1.EventType_EVENT_TYPE_ADD_TO_CART:
		return offline.Products, p, w.AddToCart, p != ""
	case tidev1.EventType_EVENT_TYPE_ORDER_CREATED:
		return offline.Products, p, w.OrderCreated, p != ""
	case tidev1.EventType_EVENT_TYPE_ORDER_PAID:
		return offline.Products, p, w.OrderPaid, p != ""
	case tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED:
		return offline.Products, p, w.OrderRefunded, p != ""
	case tidev1.EventType_EVENT_TYPE_SEARCH_CLICK:
		return offline.Products, p, w.SearchClick, p != ""
	case tidev1.EventType_EVENT_TYPE_SHARE:
		if p != "" {
			return offline.Products, p, w.ProductShare, true
		}
		return offline.Anchors, m, w.Share, m != ""
	case tidev1.EventType_EVENT_TYPE_ROOM_ENTER:
		return offline.Anchors, m, w.Enter, m != ""
	case tidev1.EventType_EVENT_TYPE_ROOM_LEAVE:
		return offline.Anchors, m, w.DwellWeight(time.Duration(e.GetValue()) * time.Millisecond), m != ""
	case tidev1.EventType_EVENT_TYPE_CHAT:
		return offline.Anchors, m, w.Chat, m != ""
	case tidev1.EventType_EVENT_TYPE_LIKE:
		return offline.Anchors, m, w.Like, m != ""
	case tidev1.EventType_EVENT_TYPE_GIFT:
		return offline.Anchors, m, w.Gift, m != ""
	case tidev1.EventType_EVENT_TYPE_FOLLOW:
		return offline.Anchors, m, w.Follow, m != ""
	case tidev1.EventType_EVENT_TYPE_UNFOLLOW:
		return offline.Anchors, m, w.Unfollow, m != ""
	}
	return 0, "", 0, false
}

// Add records e if it is an interaction of a signed-in user.
func (a *Accumulator) Add(e *tidev1.Event) {
	if e.GetUserId() == "" {
		return
	}
	kind, item, w, ok := Weight(a.w, e)
	if !ok || w == 0 {
		return
	}
	t := e.GetReceivedAt()
	if t <= 0 {
		t = e.GetTs()
	}
	a.rows[kind] = append(a.rows[kind], accRow{
		user: a.users.Intern(e.GetUserId()), item: a.items[kind].Intern(item), t: t, w: float32(w),
	})
}

// Interactions aggregates the interactions of kind received before the
// given time into one row per (user, item) pair: the summed weight and the
// latest time; pairs whose sum is not positive are dropped, as in
// features/offline.
func (a *Accumulator) Interactions(kind offline.ItemKind, before time.Time) *ranker.Interactions {
	cut := before.UnixMilli()
	rows := make([]accRow, 0, len(a.rows[kind]))
	for _, r := range a.rows[kind] {
		if r.t < cut {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(p, q accRow) int {
		if p.user != q.user {
			return int(p.user - q.user)
		}
		return int(p.item - q.item)
	})
	x := ranker.NewInteractions()
	items := a.items[kind].Names()
	for i := 0; i < len(rows); {
		j, w, t := i, float32(0), int64(0)
		for ; j < len(rows) && rows[j].user == rows[i].user && rows[j].item == rows[i].item; j++ {
			w += rows[j].w
			t = max(t, rows[j].t)
		}
		if w > 0 {
			x.Add(a.users.Name(rows[i].user), items[rows[i].item], t/1000, w)
		}
		i = j
	}
	return x
}

// Len is the number of interaction events recorded.
func (a *Accumulator) Len() int { return len(a.rows[0]) + len(a.rows[1]) }
