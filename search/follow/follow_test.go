package follow_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest/testenv"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/search"
	"github.com/tide-live/tide/search/follow"
)

// memSource is a Source and Catalog held in memory.
type memSource struct {
	mu sync.Mutex
	ps map[string]search.Product
	// onAll, when set, runs inside All after the snapshot is taken.
	onAll func()
}

func newMemSource(ps ...search.Product) *memSource {
	s := &memSource{ps: map[string]search.Product{}}
	for _, p := range ps {
		s.ps[p.ID] = p
	}
	return s
}

func (s *memSource) put(p search.Product) { s.mu.Lock(); s.ps[p.ID] = p; s.mu.Unlock() }

func (s *memSource) Products(_ context.Context, ids []string) ([]search.Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []search.Product
	for _, id := range ids {
		if p, ok := s.ps[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func (s *memSource) All(context.Context) ([]search.Product, error) {
	s.mu.Lock()
	var out []search.Product
	for _, p := range s.ps {
		out = append(out, p)
	}
	s.mu.Unlock()
	if s.onAll != nil {
		s.onAll()
	}
	return out, nil
}

// memIndex records what the follower did.
type memIndex struct {
	mu  sync.Mutex
	ps  map[string]search.Product
	ops []string
}

func (x *memIndex) Upsert(_ context.Context, ps ...search.Product) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range ps {
		x.ps[p.ID] = p
		x.ops = append(x.ops, "upsert "+p.ID+" "+p.Title)
	}
	return nil
}

func (x *memIndex) Delete(_ context.Context, ids ...string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, id := range ids {
		delete(x.ps, id)
		x.ops = append(x.ops, "delete "+id)
	}
	return nil
}

func (x *memIndex) opsSoFar() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.ops)
}

func product(id, title string) search.Product {
	return search.Product{ID: id, MerchantID: "m01", Title: title, Category: "女装/连衣裙", PriceFen: 19900}
}

// newTopic makes a topic of its own for t.
func newTopic(t *testing.T) ([]string, string, *kgo.Client) {
	t.Helper()
	brokers := testenv.Kafka(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "tide-test-follow-" + hex.EncodeToString(b[:])
	kc, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(kc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 4, 1, nil, name); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = adm.DeleteTopic(ctx, name)
		kc.Close()
	})
	return brokers, name, kc
}

func record(t *testing.T, topic string, e *tidev1.Event, typeHeader string) *kgo.Record {
	v, err := proto.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	r := &kgo.Record{Topic: topic, Key: []byte(e.GetProductId() + e.GetUserId()), Value: v}
	if typeHeader != "" {
		r.Headers = []kgo.RecordHeader{{Key: follow.EventTypeHeader, Value: []byte(typeHeader)}}
	}
	return r
}

func changed(id string) *tidev1.Event {
	return &tidev1.Event{EventId: "e-" + id, Type: tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED,
		Ts: time.Now().UnixMilli(), ProductId: id, MerchantId: "m01", Attrs: map[string]string{"change": "updated"}}
}

func TestFollowerUpsertsAndDeletes(t *testing.T) {
	brokers, topic, kc := newTopic(t)
	src := newMemSource(product("p1", "碎花连衣裙"))
	ix := &memIndex{ps: map[string]search.Product{"p2": product("p2", "旧的")}}
	applied := make(chan follow.Applied, 10)
	klog := &syncBuffer{}
	f, err := follow.New(brokers, src, ix, follow.WithTopic(topic), follow.StartAt(time.Now()),
		follow.OnApply(func(a follow.Applied) { applied <- a }),
		follow.WithKafkaOptions(kgo.WithLogger(kgo.BasicLogger(klog, kgo.LogLevelInfo, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	view := &tidev1.Event{EventId: "v1", Type: tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, Ts: time.Now().UnixMilli(), UserId: "u1", ProductId: "p3"}
	err = kc.ProduceSync(ctx,
		record(t, topic, view, "product_click"),              // skipped by header
		record(t, topic, view, ""),                           // decoded, skipped by type
		&kgo.Record{Topic: topic, Value: []byte("\xff\x00")}, // garbage, skipped
		record(t, topic, changed("p1"), "product_changed"),
		record(t, topic, changed("p2"), ""), // no header: decoded
	).FirstErr()
	if err != nil {
		t.Fatal(err)
	}
	var total follow.Applied
	deadline := time.After(60 * time.Second) // generous: CI loads Kafka with other packages' tests
	for total.Upserted+total.Deleted < 2 {
		select {
		case a := <-applied:
			total.Upserted += a.Upserted
			total.Deleted += a.Deleted
		case <-deadline:
			t.Fatalf("applied %+v, ops %v; follower's Kafka log:\n%s", total, ix.opsSoFar(), klog.String())
		}
	}
	ops := ix.opsSoFar()
	slices.Sort(ops)
	if fmt.Sprint(ops) != "[delete p2 upsert p1 碎花连衣裙]" {
		t.Errorf("ops %v", ops)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestRebuildKeepsChangesMadeWhileItRuns(t *testing.T) {
	ctx := context.Background()
	src := newMemSource(product("p1", "复古牛仔夹克"), product("p2", "羊毛围巾"))
	all, _ := src.All(ctx)
	ix, err := search.New(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	f, err := follow.New([]string{"127.0.0.1:1"}, src, ix) // never Run: no broker needed
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// While the rebuild holds its snapshot, p1 changes and its event is
	// applied to the current generation; the rebuilt one must have it too.
	src.onAll = func() {
		src.put(product("p1", "真丝睡衣套装"))
		if _, err := f.Apply(ctx, []string{"p1"}); err != nil {
			t.Error(err)
		}
	}
	n, err := f.Rebuild(ctx, src, ix)
	if err != nil || n != 2 {
		t.Fatalf("Rebuild: %d %v", n, err)
	}
	if p, ok := ix.Get("p1"); !ok || p.Title != "真丝睡衣套装" {
		t.Errorf("after rebuild p1 = %+v %v", p, ok)
	}
	res, err := ix.Search(ctx, search.Request{Text: "睡衣"})
	if err != nil || len(res.Hits) != 1 || res.Hits[0].Product.ID != "p1" {
		t.Errorf("search 睡衣 after rebuild: %+v %v", res, err)
	}
}

func TestApplyKeepsLiveFlag(t *testing.T) {
	ctx := context.Background()
	src := newMemSource(product("p1", "碎花连衣裙"))
	ix, err := search.New(ctx, []search.Product{product("p1", "碎花连衣裙")})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if err := ix.SetLive(ctx, true, "p1"); err != nil {
		t.Fatal(err)
	}
	f, _ := follow.New([]string{"127.0.0.1:1"}, src, ix)
	defer f.Close()
	src.put(product("p1", "碎花连衣裙 新款"))
	if _, err := f.Apply(ctx, []string{"p1"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := ix.Get("p1"); !p.LiveNow || p.Title != "碎花连衣裙 新款" {
		t.Errorf("p1 = %+v", p)
	}
}

// syncBuffer is a bytes.Buffer safe for the Kafka client's logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > 12000 {
		s = s[:12000]
	}
	return s
}
