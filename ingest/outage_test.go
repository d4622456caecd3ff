package ingest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"
)

// TestClickHouseOutage cuts ClickHouse away from a running ingester for 30 s
// (through a proxy, so the shared server stays up) while events keep coming:
// nothing is committed past what ClickHouse holds, nothing is lost or
// inserted twice (counted as inserted, not as merged), the rollup totals are
// the events', and ingest resumes by itself.
func TestClickHouseOutage(t *testing.T) {
	s := needServers(t)
	const partitions, rate = 4, 10_000 // events/s
	const before, outage, after = 5 * time.Second, 30 * time.Second, 5 * time.Second
	topic, db := s.fresh(t, partitions)
	px := newProxy(t, s.chAddr)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ing, err := New(ctx, WithBrokers(s.brokers...), WithTopic(topic), WithDeadLetterTopic(topic+".dlq"),
		WithGroup(topic), WithClickHouse(px.addr, db), WithBatch(20_000, 200*time.Millisecond),
		WithBackoff(100*time.Millisecond, 2*time.Second), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer ing.Close()
	runErr := make(chan error, 1)
	go func() { runErr <- ing.Run(ctx) }()

	total := int((before + outage + after).Seconds()) * rate
	events := testEvents(total, 7)
	keys, values := wire(t, events)
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		start := time.Now()
		s.produce(t, topic, keys, values, func(i int) {
			if i%1000 == 0 {
				if d := time.Duration(i)*time.Second/rate - time.Since(start); d > 0 {
					time.Sleep(d)
				}
			}
		})
	}()

	time.Sleep(before)
	waitFor(t, 30*time.Second, "rows before the outage", func() bool { return s.rows(db) > 0 })
	px.cut()
	t.Log("ClickHouse cut off")
	cutAt := time.Now()
	held, _ := s.counts(t, db)
	insertedAtCut := ing.Stats().Inserted
	for time.Since(cutAt) < outage {
		s.checkCommitsBehindClickHouse(t, topic, topic, db)
		time.Sleep(500 * time.Millisecond)
	}
	// At most the batch in flight when the cut came can have landed.
	if now, _ := s.counts(t, db); now > held+20_000 {
		t.Errorf("rows grew from %d to %d while ClickHouse was cut off", held, now)
	}
	if ins := ing.Stats().Inserted; ins > insertedAtCut+20_000 {
		t.Errorf("ingester reports %d inserts during the outage", ins-insertedAtCut)
	}
	px.restore()
	t.Log("ClickHouse back")
	backAt := time.Now()
	<-produced
	waitFor(t, 2*time.Minute, "every event after the outage", func() bool {
		return s.rows(db) >= uint64(total)
	})
	t.Logf("caught up %s after ClickHouse came back", time.Since(backAt).Round(time.Millisecond))
	s.waitCommitted(t, topic, topic, total, 30*time.Second) // nothing left in flight: a copy would show below
	if ins, uniq := s.inserted(t, db, topic), s.uniq(t, db); ins != uint64(total) || uniq != uint64(total) {
		t.Fatalf("ingest inserted %d rows (countMerge of kafka_offsets) of %d distinct events, produced %d", ins, uniq, total)
	}
	s.checkExact(t, db, events)
	s.checkCommitsBehindClickHouse(t, topic, topic, db)
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
