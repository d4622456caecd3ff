package ingest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// TestDuplicatesOnPurpose puts copies of events into every path a copy can
// take, with background merges stopped so that nothing collapses them: a
// client retry that reached a second serve replica (the same event_id
// produced to Kafka again, at another offset, with another received_at) and a
// repeated insert (the same rows inserted into ClickHouse twice). events then
// really holds the copies, and every table a report reads still counts each
// event_id once.
func TestDuplicatesOnPurpose(t *testing.T) {
	s := needServers(t)
	const n, retried, reinserted = 20_000, 5_000, 3_000
	topic, db := s.fresh(t, 4)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ing, err := New(ctx, WithBrokers(s.brokers...), WithTopic(topic), WithDeadLetterTopic(topic+".dlq"),
		WithGroup(topic), WithClickHouse(s.chAddr, db), WithBatch(5_000, 100*time.Millisecond), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer ing.Close()
	s.stopMerges(t, db) // New migrated db
	runErr := make(chan error, 1)
	go func() { runErr <- ing.Run(ctx) }()

	events := testEvents(n, 11)
	keys, values := wire(t, events)
	s.produce(t, topic, keys, values, nil)
	// The retries: what a second replica produces for a request it also got.
	var copies []*tidev1.Event
	for _, e := range events[:retried] {
		c := proto.Clone(e).(*tidev1.Event)
		c.ReceivedAt += 1500
		copies = append(copies, c)
	}
	ckeys, cvalues := wire(t, copies)
	s.produce(t, topic, ckeys, cvalues, nil)
	waitFor(t, time.Minute, "every record inserted", func() bool { return s.rows(db) >= n+retried })

	// The repeated insert, twice over, straight into ClickHouse.
	insertEvents(t, s, db, events[n-reinserted:])
	insertEvents(t, s, db, events[n-reinserted:])

	rows, uniq := s.counts(t, db)
	if want := uint64(n + retried + 2*reinserted); rows != want {
		t.Fatalf("events holds %d rows, want %d: the copies must really be there for this test to mean anything", rows, want)
	}
	if uniq != n {
		t.Errorf("uniqExact(event_id) = %d, want %d", uniq, n)
	}
	if got := s.inserted(t, db, topic); got != n+retried {
		t.Errorf("kafka_offsets counts %d rows inserted from the topic, want %d (each record once)", got, n+retried)
	}
	s.checkExact(t, db, events)

	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
