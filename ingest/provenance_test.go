package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

func TestProvenanceTable(t *testing.T) {
	for n := range tidev1.EventType_name {
		typ := tidev1.EventType(n)
		if typ == tidev1.EventType_EVENT_TYPE_UNSPECIFIED {
			continue
		}
		// every type is either behaviour anyone may send, or the server's alone
		if !MaySend(SenderServer, typ) {
			t.Errorf("%s: the server may not produce it", TypeName(typ))
		}
		client := MaySend(SenderUser, typ)
		if MaySend(SenderMerchant, typ) != client || MaySend(SenderAdmin, typ) != client {
			t.Errorf("%s: users, merchants and admins disagree", TypeName(typ))
		}
		if ServerOnly(typ) == client {
			t.Errorf("%s: ServerOnly = %v but users may send it = %v", TypeName(typ), ServerOnly(typ), client)
		}
	}
	for _, typ := range []tidev1.EventType{
		tidev1.EventType_EVENT_TYPE_GIFT, tidev1.EventType_EVENT_TYPE_ORDER_CREATED, tidev1.EventType_EVENT_TYPE_ORDER_PAID,
		tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED, tidev1.EventType_EVENT_TYPE_STREAM_START,
		tidev1.EventType_EVENT_TYPE_STREAM_END, tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED,
		tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE,
		tidev1.EventType(999), // a type added to event.proto but not to the table
	} {
		if !ServerOnly(typ) {
			t.Errorf("%s is not server-only", TypeName(typ))
		}
		err := CheckSender(SenderAdmin, typ)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "type" || !strings.Contains(fe.Reason, "never sent by admins") {
			t.Errorf("CheckSender(admin, %s) = %v", TypeName(typ), err)
		}
	}
	if ServerOnly(tidev1.EventType_EVENT_TYPE_ROOM_ENTER) || CheckSender(SenderUser, tidev1.EventType_EVENT_TYPE_CHAT) != nil {
		t.Error("users may not send their own behaviour")
	}
}

func TestCheckRecord(t *testing.T) {
	paid, like := tidev1.EventType_EVENT_TYPE_ORDER_PAID, tidev1.EventType_EVENT_TYPE_LIKE
	cases := []struct {
		name    string
		headers []kgo.RecordHeader
		typ     tidev1.EventType
		want    string // "" for accepted
	}{
		{"server order", ProducerHeaders(ProducerServer), paid, ""},
		{"track like", ProducerHeaders(ProducerTrack), like, ""},
		{"untagged like", nil, like, ""},
		{"track order", ProducerHeaders(ProducerTrack), paid, "type: order_paid events are produced by checkout's outbox only, not by Track"},
		{"untagged order", nil, paid, "not by a record without a tide-producer header"},
		{"unknown producer", ProducerHeaders("me"), like, `tide-producer: unknown producer "me"`},
		{"server among others", append([]kgo.RecordHeader{{Key: "x", Value: []byte("y")}}, ProducerHeaders(ProducerServer)...), paid, ""},
	}
	for _, c := range cases {
		err := CheckRecord(c.headers, c.typ)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		case c.want != "" && !errors.Is(err, ErrInvalidEvent):
			t.Errorf("%s: %v is not an ErrInvalidEvent", c.name, err)
		}
	}
}

// TestIngestDeadLettersForgedRecords puts on the topic what a broken or
// bypassed Track could: a gift and an order_paid tagged as Track's, and an
// untagged exposure. They go to dead letters with the reason; the server's
// own order and Track's like reach ClickHouse.
func TestIngestDeadLettersForgedRecords(t *testing.T) {
	s := needServers(t)
	topic, db := s.fresh(t, 2)
	now := time.Now().UnixMilli()
	ev := func(id string, typ tidev1.EventType) *tidev1.Event {
		return &tidev1.Event{EventId: id, Type: typ, Ts: now, ReceivedAt: now, UserId: "u1", MerchantId: "m1",
			RoomId: "r1", Value: 500_000_000, Attrs: map[string]string{"order_id": "o-" + id},
			Experiments: map[string]string{"feed": "chosen"}}
	}
	recs := []struct {
		e        *tidev1.Event
		producer string
		forged   bool
	}{
		{ev("forged-gift", tidev1.EventType_EVENT_TYPE_GIFT), ProducerTrack, true},
		{ev("forged-paid", tidev1.EventType_EVENT_TYPE_ORDER_PAID), ProducerTrack, true},
		{ev("forged-exposure", tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE), "", true},
		{ev("real-paid", tidev1.EventType_EVENT_TYPE_ORDER_PAID), ProducerServer, false},
		{ev("real-like", tidev1.EventType_EVENT_TYPE_LIKE), ProducerTrack, false},
	}
	var krs []*kgo.Record
	for _, r := range recs {
		kr, err := record(topic, r.e, r.producer)
		if err != nil {
			t.Fatal(err)
		}
		if r.producer == "" {
			kr.Headers = nil
		}
		krs = append(krs, kr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.kcl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ing, err := New(ctx, WithBrokers(s.brokers...), WithTopic(topic), WithDeadLetterTopic(topic+".dlq"),
		WithGroup(topic), WithClickHouse(s.chAddr, db), WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer ing.Close()
	runErr := make(chan error, 1)
	go func() { runErr <- ing.Run(ctx) }()

	reasons := map[string]string{} // event_id's record value → reason
	dl, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.ConsumeTopics(topic+".dlq"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	deadline := time.Now().Add(time.Minute)
	for len(reasons) < 3 && time.Now().Before(deadline) {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		dl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			var e tidev1.Event
			if err := DecodeEvent(r.Value, &e); err != nil {
				t.Errorf("dead letter does not carry the original event: %v", err)
				return
			}
			for _, h := range r.Headers {
				if h.Key == HeaderReason {
					reasons[e.GetEventId()] = string(h.Value)
				}
			}
		})
		pcancel()
	}
	want := map[string]string{
		"forged-gift":     "gift events are produced by the gift payment service (none yet) only, not by Track",
		"forged-paid":     "order_paid events are produced by checkout's outbox only, not by Track",
		"forged-exposure": "experiment_exposure events are produced by the server's A/B exposure log only, not by a record without a tide-producer header",
	}
	for id, w := range want {
		if !strings.Contains(reasons[id], w) {
			t.Errorf("%s: dead-letter reason %q, want %q", id, reasons[id], w)
		}
	}
	waitFor(t, time.Minute, "the real events in ClickHouse", func() bool { return s.rows(db) >= 2 })
	rows, err := s.ch.Query(ctx, "SELECT event_id FROM "+db+".events ORDER BY event_id")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	rows.Close()
	if strings.Join(got, ",") != "real-like,real-paid" {
		t.Errorf("events in ClickHouse: %v, want real-like and real-paid only", got)
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
}
