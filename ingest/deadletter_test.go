package ingest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// badRecord makes the k-th malformed or invalid record and the reason kind
// it must be dead-lettered with.
func badRecord(k int, now int64) (value []byte, kind string) {
	e := testEvents(1, uint64(1_000_000+k))[0]
	e.EventId = fmt.Sprintf("bad-%d", k)
	enc := func() []byte { b, _ := proto.Marshal(e); return b }
	switch k % 10 {
	case 0:
		return []byte(fmt.Sprintf("{\"event_id\":\"json-%d\"}", k)), "decode" // JSON is not protobuf
	case 1:
		b := enc()
		return b[:len(b)-1], "decode" // truncated inside its last field
	case 2:
		return []byte{0x0a, 0x03, 'a', 0xff, 'b'}, "decode" // event_id not UTF-8
	case 3:
		e.EventId = ""
		return enc(), "invalid_event_id"
	case 4:
		e.Ts = now + int64(time.Hour/time.Millisecond)
		return enc(), "invalid_ts"
	case 5:
		e.Type = tidev1.EventType_EVENT_TYPE_CHAT
		e.Text = ""
		return enc(), "invalid_text"
	case 6:
		e.Type = 99
		return enc(), "invalid_type"
	case 7:
		e.Value = -1
		return enc(), "invalid_value"
	case 8:
		e.Type = tidev1.EventType_EVENT_TYPE_ORDER_PAID
		e.Attrs = nil
		return enc(), "invalid_attrs"
	default:
		e.UserId = "tab\tin id"
		return enc(), "invalid_user_id"
	}
}

// TestDeadLetters mixes 10k malformed or invalid records into 100k valid
// ones: every bad one lands in the dead-letter topic with its reason and
// origin, every valid one in ClickHouse.
func TestDeadLetters(t *testing.T) {
	s := needServers(t)
	const valid, bad = 100_000, 10_000
	topic, db := s.fresh(t, 4)
	now := time.Now().UnixMilli()

	good := testEvents(valid, 99)
	gkeys, gvalues := wire(t, good)
	// Interleave: bad record k goes before valid record slot[k].
	r := rand.New(rand.NewPCG(5, 5))
	slot := make([]int, bad)
	for k := range slot {
		slot[k] = r.IntN(valid + 1)
	}
	slices.Sort(slot)
	wantKind := map[string]string{} // value → kind
	var keys, values [][]byte
	k := 0
	for i := 0; i <= valid; i++ {
		for ; k < bad && slot[k] == i; k++ {
			v, kind := badRecord(k, now)
			keys, values = append(keys, []byte(strconv.Itoa(k))), append(values, v)
			wantKind[string(v)] = kind
		}
		if i < valid {
			keys, values = append(keys, gkeys[i]), append(values, gvalues[i])
		}
	}
	start := time.Now()
	pos := s.produce(t, topic, keys, values, nil)
	t.Logf("produced %d records in %s", len(values), time.Since(start).Round(time.Millisecond))
	badAt := map[placed]string{}
	for i, v := range values {
		if kind, ok := wantKind[string(v)]; ok {
			badAt[pos[i]] = kind
		}
	}

	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ing, err := New(ctx, WithBrokers(s.brokers...), WithTopic(topic), WithDeadLetterTopic(topic+".dlq"),
		WithGroup(topic), WithClickHouse(s.chAddr, db), WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	defer ing.Close()
	s.stopMerges(t, db) // count() below is then what was inserted
	runErr := make(chan error, 1)
	go func() { runErr <- ing.Run(ctx) }()
	waitFor(t, 2*time.Minute, "valid events in ClickHouse", func() bool { return s.rows(db) >= valid })
	t.Logf("valid events in ClickHouse after %s", time.Since(start).Round(time.Millisecond))

	// Read the whole dead-letter topic.
	dl, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.ConsumeTopics(topic+".dlq"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	seen := map[placed]bool{}
	deadline := time.Now().Add(time.Minute)
	for len(seen) < bad && time.Now().Before(deadline) {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		fs := dl.PollFetches(pctx)
		pcancel()
		fs.EachRecord(func(rec *kgo.Record) {
			h := map[string]string{}
			for _, kv := range rec.Headers {
				h[kv.Key] = string(kv.Value)
			}
			p, _ := strconv.Atoi(h[HeaderPartition])
			o, _ := strconv.ParseInt(h[HeaderOffset], 10, 64)
			at := placed{int32(p), o}
			kind, ok := badAt[at]
			switch {
			case h[HeaderTopic] != topic || !ok:
				t.Errorf("dead letter from %s %v is not one of the bad records", h[HeaderTopic], at)
			case h[HeaderKind] != kind:
				t.Errorf("dead letter %v: kind %q, want %q (reason %q)", at, h[HeaderKind], kind, h[HeaderReason])
			case h[HeaderReason] == "":
				t.Errorf("dead letter %v has no reason", at)
			case wantKind[string(rec.Value)] != kind:
				t.Errorf("dead letter %v does not carry the original value", at)
			}
			seen[at] = true
		})
	}
	t.Logf("dead letters read after %s", time.Since(start).Round(time.Millisecond))
	if len(seen) != bad {
		t.Fatalf("%d distinct dead letters, want %d", len(seen), bad)
	}
	// Every insert returned (its views written too) once its batch is
	// committed; the rows of events are visible before the views' rows.
	s.waitCommitted(t, topic, topic, len(values), time.Minute)
	n, uniq := s.counts(t, db)
	if ins := s.inserted(t, db, topic); n != valid || uniq != valid || ins != valid {
		t.Fatalf("unmerged count()=%d uniqExact(event_id)=%d countMerge(rows)=%d, want %d valid events", n, uniq, ins, valid)
	}
	s.checkExact(t, db, good)
	var badInCH uint64
	if err := s.ch.QueryRow(ctx, "SELECT count() FROM "+db+".events WHERE event_id LIKE 'bad-%'").Scan(&badInCH); err != nil {
		t.Fatal(err)
	}
	if badInCH != 0 {
		t.Errorf("%d bad events reached ClickHouse", badInCH)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var counted float64
	for _, mf := range mfs {
		if mf.GetName() == "tide_ingest_dead_lettered_total" {
			for _, m := range mf.GetMetric() {
				counted += m.GetCounter().GetValue()
			}
		}
	}
	if counted != bad {
		t.Errorf("tide_ingest_dead_lettered_total = %v, want %d", counted, bad)
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
}
