package offline_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/tide-live/tide/features/eventstest"
	"github.com/tide-live/tide/features/offline"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type seed struct {
	n  int
	es []*tidev1.Event
}

func (s *seed) add(typ tidev1.EventType, d time.Duration, user, device, merchant, room, product string, value int64) {
	s.n++
	at := t0.Add(d).UnixMilli()
	s.es = append(s.es, &tidev1.Event{EventId: fmt.Sprint("e", s.n), Type: typ, Ts: at, ReceivedAt: at,
		UserId: user, DeviceId: device, MerchantId: merchant, RoomId: room, ProductId: product, Value: value,
		Attrs: map[string]string{"order_id": "o"}})
}

// seeded fills a fresh events table with a small, hand-checked history and
// returns an extractor over it (more options may be added).
func seeded(t *testing.T, opts ...offline.Option) (*offline.Extractor, func(...offline.Option) *offline.Extractor) {
	conn, db := eventstest.Open(t)
	var s seed
	T := tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK
	// u1: clicks p1 twice, carts it, orders and pays: 1+1+3+4+2 = 11.
	s.add(T, 0, "u1", "d1", "m1", "r1", "p1", 0)
	s.add(T, time.Minute, "u1", "d1", "m1", "r1", "p1", 0)
	s.add(tidev1.EventType_EVENT_TYPE_ADD_TO_CART, 2*time.Minute, "u1", "d1", "m1", "r1", "p1", 5000)
	s.add(tidev1.EventType_EVENT_TYPE_ORDER_CREATED, 3*time.Minute, "u1", "d1", "m1", "r1", "p1", 5000)
	s.add(tidev1.EventType_EVENT_TYPE_ORDER_PAID, 4*time.Minute, "u1", "d1", "m1", "r1", "p1", 5000)
	// u1 clicks p2 once: 1. u2 orders p2 and gets a refund: 4 - 6 < 0, dropped.
	s.add(T, 5*time.Minute, "u1", "d1", "m2", "", "p2", 0)
	s.add(tidev1.EventType_EVENT_TYPE_ORDER_CREATED, 6*time.Minute, "u2", "d2", "m2", "", "p2", 100)
	s.add(tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED, 7*time.Minute, "u2", "d2", "m2", "", "p2", 100)
	// u2 carts p3: 3. An impression counts nothing.
	s.add(tidev1.EventType_EVENT_TYPE_ADD_TO_CART, 8*time.Minute, "u2", "d2", "m2", "", "p3", 100)
	s.add(tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION, 8*time.Minute, "u2", "d2", "m2", "", "p4", 0)
	// An anonymous viewer clicks p3: only with WithAnonymous.
	s.add(T, 9*time.Minute, "", "d9", "m2", "", "p3", 0)
	// Rooms → anchors. u1 in r1 (anchor m1): enter 0.2 + a 5 s view 0.1 +
	// chat 0.5 + follow 4 = 4.8; u1 in r2 (m2): enter 0.2 + a 305 s view
	// (0.5 + 2.5 × 295/590 = 1.75) = 1.95; u2 in r2: enter 0.2 + a 20 min
	// view 3 + gift 2 = 5.2; u2 follows then unfollows m1: 0.
	s.add(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, 0, "u1", "d1", "m1", "r1", "", 0)
	s.add(tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, 5*time.Second, "u1", "d1", "m1", "r1", "", 5000)
	s.add(tidev1.EventType_EVENT_TYPE_CHAT, 4*time.Second, "u1", "d1", "m1", "r1", "", 0)
	s.add(tidev1.EventType_EVENT_TYPE_FOLLOW, 4*time.Second, "u1", "d1", "m1", "r1", "", 0)
	s.add(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, 10*time.Minute, "u1", "d1", "m2", "r2", "", 0)
	s.add(tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, 15*time.Minute, "u1", "d1", "m2", "r2", "", 305_000)
	s.add(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, 10*time.Minute, "u2", "d2", "m2", "r2", "", 0)
	s.add(tidev1.EventType_EVENT_TYPE_GIFT, 11*time.Minute, "u2", "d2", "m2", "r2", "", 990)
	s.add(tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, 30*time.Minute, "u2", "d2", "m2", "r2", "", 1_200_000)
	s.add(tidev1.EventType_EVENT_TYPE_FOLLOW, 31*time.Minute, "u2", "d2", "m1", "", "", 0)
	s.add(tidev1.EventType_EVENT_TYPE_UNFOLLOW, 32*time.Minute, "u2", "d2", "m1", "", "", 0)
	// Outside the range: ignored.
	s.add(T, -time.Hour, "u1", "d1", "m1", "r1", "p9", 0)
	eventstest.Insert(t, conn, db, s.es)
	mk := func(more ...offline.Option) *offline.Extractor {
		return offline.New(conn, append([]offline.Option{offline.WithTable(db, "events")}, more...)...)
	}
	return mk(append([]offline.Option{offline.WithMinimum(1, 1, 1), offline.WithBatchRows(2),
		offline.WithProgress(func(offline.Progress) {}, time.Hour)}, opts...)...), mk
}

var q = func(k offline.ItemKind) offline.Query {
	return offline.Query{Kind: k, From: t0.Add(-time.Minute), To: t0.Add(time.Hour)}
}

type row struct {
	user, item string
	ts         int64
	w          float32
}

func collect(t *testing.T, x *offline.Extractor, query offline.Query) (rows []row, batches []int64) {
	t.Helper()
	for rec, err := range x.Batches(context.Background(), query) {
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, rec.NumRows())
		us := rec.Column(offline.ColUser).(*array.String)
		is := rec.Column(offline.ColItem).(*array.String)
		ts := rec.Column(offline.ColTime).(*array.Timestamp)
		ws := rec.Column(offline.ColWeight).(*array.Float32)
		for i := range int(rec.NumRows()) {
			rows = append(rows, row{us.Value(i), is.Value(i), int64(ts.Value(i)), ws.Value(i)})
		}
	}
	return rows, batches
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-4 }

func TestProductWeightsAndBatches(t *testing.T) {
	x, _ := seeded(t)
	rows, batches := collect(t, x, q(offline.Products))
	want := []row{
		{"u1", "p1", t0.Add(4 * time.Minute).UnixMilli(), 11},
		{"u1", "p2", t0.Add(5 * time.Minute).UnixMilli(), 1},
		{"u2", "p3", t0.Add(8 * time.Minute).UnixMilli(), 3},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows = %+v\nwant %+v", rows, want)
	}
	for i := range want {
		if rows[i].user != want[i].user || rows[i].item != want[i].item || rows[i].ts != want[i].ts || !near(rows[i].w, want[i].w) {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	if fmt.Sprint(batches) != "[2 1]" {
		t.Errorf("batch sizes = %v, want [2 1] (2 rows per batch)", batches)
	}
}

func TestAnchorWeightsDwell(t *testing.T) {
	x, _ := seeded(t)
	rows, _ := collect(t, x, q(offline.Anchors))
	want := map[string]float32{"u1 m1": 4.8, "u1 m2": 1.95, "u2 m2": 5.2}
	if len(rows) != len(want) {
		t.Fatalf("rows = %+v, want %v", rows, want)
	}
	for _, r := range rows {
		if w, ok := want[r.user+" "+r.item]; !ok || !near(r.w, w) {
			t.Errorf("%s %s weight %v, want %v", r.user, r.item, r.w, w)
		}
	}
	w := offline.DefaultWeights()
	if w.DwellWeight(5*time.Second) >= w.DwellWeight(time.Minute) || w.DwellWeight(time.Minute) >= w.DwellWeight(time.Hour) {
		t.Error("a short view does not weigh less than a long one")
	}
}

func TestAnonymousUsers(t *testing.T) {
	_, mk := seeded(t)
	xa := mk(offline.WithAnonymous(true), offline.WithMinimum(1, 1, 1))
	rows, _ := collect(t, xa, q(offline.Products))
	found := false
	for _, r := range rows {
		found = found || (r.user == "device:d9" && r.item == "p3" && near(r.w, 1))
	}
	if !found || len(rows) != 4 {
		t.Fatalf("rows = %+v, want the anonymous device:d9 → p3 too", rows)
	}
}

func TestMatrixAndTooLittleData(t *testing.T) {
	x, mk := seeded(t)
	m, err := x.Matrix(context.Background(), q(offline.Products))
	if err != nil {
		t.Fatal(err)
	}
	if r, cols := m.Dims(); r != 2 || cols != 3 || m.NNZ() != 3 {
		t.Fatalf("dims %d×%d nnz %d; users %v items %v", r, cols, m.NNZ(), m.Users, m.Items)
	}
	if m.At(0, 0) != 11 || m.At(0, 1) != 1 || m.At(1, 2) != 3 || m.At(1, 0) != 0 {
		t.Fatalf("matrix users %v items %v indptr %v indices %v values %v", m.Users, m.Items, m.Indptr, m.Indices, m.Values)
	}
	if m.Times[0] != t0.Add(4*time.Minute).Unix() {
		t.Errorf("time of u1,p1 = %d", m.Times[0])
	}
	d, err := m.Dense(100)
	if err != nil || d.At(1, 2) != 3 {
		t.Fatalf("dense: %v %v", d, err)
	}

	strict := mk()
	_, err = strict.Matrix(context.Background(), q(offline.Products))
	if !errors.Is(err, offline.ErrTooLittleData) {
		t.Fatalf("err = %v, want ErrTooLittleData", err)
	}
	t.Log(err)
	_, err = strict.Matrix(context.Background(), offline.Query{Kind: offline.Products, From: t0, To: t0})
	if err == nil {
		t.Fatal("an empty range gave no error")
	}
}

func TestFromBatchesUnsortedDuplicates(t *testing.T) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, offline.Schema)
	defer b.Release()
	add := func(u, i string, ts int64, w float32) {
		b.Field(0).(*array.StringBuilder).Append(u)
		b.Field(1).(*array.StringBuilder).Append(i)
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
		b.Field(3).(*array.Float32Builder).Append(w)
	}
	add("b", "y", 5000, 1)
	add("a", "z", 1000, 2)
	add("b", "x", 2000, 3)
	add("b", "y", 9000, 4) // duplicate of (b, y): summed, later time kept
	rec := b.NewRecord()
	defer rec.Release()
	m, err := offline.FromBatches(offline.Products, func(yield func(arrow.Record, error) bool) { yield(rec, nil) })
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m.Users, m.Items, m.Indptr, m.Indices, m.Values, m.Times) != "[a b] [x y z] [0 1 3] [2 0 1] [2 3 5] [1 2 9]" {
		t.Fatalf("got %v %v %v %v %v %v", m.Users, m.Items, m.Indptr, m.Indices, m.Values, m.Times)
	}
}
