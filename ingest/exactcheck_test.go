package ingest

import (
	"context"
	"testing"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// totals are the figures a report reads, from distinct events.
type totals struct {
	events, enters, chats, likes, clicks, paid uint64
	gmv, value                                 int64
}

// wantTotals computes totals from events, counting each event_id once.
func wantTotals(events []*tidev1.Event) totals {
	var w totals
	seen := map[string]bool{}
	for _, e := range events {
		if seen[e.EventId] {
			continue
		}
		seen[e.EventId] = true
		w.events++
		w.value += e.Value
		switch e.Type {
		case tidev1.EventType_EVENT_TYPE_ROOM_ENTER:
			w.enters++
		case tidev1.EventType_EVENT_TYPE_CHAT:
			w.chats++
		case tidev1.EventType_EVENT_TYPE_LIKE:
			w.likes += uint64(max(e.Value, 1))
		case tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK:
			w.clicks++
		case tidev1.EventType_EVENT_TYPE_ORDER_PAID:
			w.paid++
			w.gmv += e.Value
		}
	}
	return w
}

// exactTotals reads totals the way a report must: room_minute_exact merged
// per room-minute and added up (its events and value stay 0), events
// collapsed by event_id. Every event of the tests has a room, so both must
// agree with wantTotals.
func (s *servers) exactTotals(t *testing.T, db string) (rollup, events totals) {
	t.Helper()
	ctx := context.Background()
	err := s.ch.QueryRow(ctx, `SELECT sum(e), sum(c), toUInt64(sum(l)), sum(k), sum(p), sum(g) FROM (
		SELECT room_id, minute,
			uniqExactIfMerge(enters) AS e, uniqExactIfMerge(chats) AS c,
			arraySum(arrayMap(x -> x.2, groupUniqArrayIfMerge(likes))) AS l,
			uniqExactIfMerge(product_clicks) AS k, uniqExactIfMerge(paid_orders) AS p,
			arraySum(arrayMap(x -> x.2, groupUniqArrayIfMerge(gmv_fen))) AS g
		FROM `+db+`.room_minute_exact GROUP BY room_id, minute)`).
		Scan(&rollup.enters, &rollup.chats, &rollup.likes, &rollup.clicks, &rollup.paid, &rollup.gmv)
	if err != nil {
		t.Fatalf("read room_minute_exact: %v", err)
	}
	err = s.ch.QueryRow(ctx, `SELECT count(), countIf(type = 'room_enter'), countIf(type = 'chat'),
			sumIf(toUInt64(greatest(value, 1)), type = 'like'), countIf(type = 'product_click'),
			countIf(type = 'order_paid'), sumIf(value, type = 'order_paid'), sum(value)
		FROM (SELECT event_id, any(type) AS type, any(value) AS value FROM `+db+`.events GROUP BY event_id)`).
		Scan(&events.events, &events.enters, &events.chats, &events.likes, &events.clicks, &events.paid, &events.gmv, &events.value)
	if err != nil {
		t.Fatalf("read events by event_id: %v", err)
	}
	return rollup, events
}

// checkExact fails unless every report-read table of db agrees with the
// distinct events of events.
func (s *servers) checkExact(t *testing.T, db string, events []*tidev1.Event) {
	t.Helper()
	want := wantTotals(events)
	rollup, ev := s.exactTotals(t, db)
	wantRollup := want
	wantRollup.events, wantRollup.value = 0, 0 // room_minute_exact has no such columns
	if rollup != wantRollup {
		t.Errorf("room_minute_exact totals %+v, want %+v", rollup, wantRollup)
	}
	if ev != want {
		t.Errorf("events collapsed by event_id %+v, want %+v", ev, want)
	}
}

// inserted returns the rows ever inserted into db.events from topic, copies
// included and whatever merges did since (countMerge of kafka_offsets).
func (s *servers) inserted(t *testing.T, db, topic string) uint64 {
	t.Helper()
	var n uint64
	if err := s.ch.QueryRow(context.Background(), "SELECT countMerge(rows) FROM "+db+".kafka_offsets WHERE kafka_topic = ?", topic).Scan(&n); err != nil {
		t.Fatalf("read kafka_offsets: %v", err)
	}
	return n
}

// stopMerges stops background merges of db's tables, so that what a test
// reads is what was inserted, not what a merge made of it.
func (s *servers) stopMerges(t *testing.T, db string) {
	t.Helper()
	for _, table := range []string{"events", "kafka_offsets", "room_minute_exact"} {
		if err := s.ch.Exec(context.Background(), "SYSTEM STOP MERGES "+db+"."+table); err != nil {
			t.Fatalf("stop merges of %s: %v", table, err)
		}
	}
}

// uniq returns uniqExact(event_id) of db.events.
func (s *servers) uniq(t *testing.T, db string) uint64 {
	t.Helper()
	_, u := s.counts(t, db)
	return u
}
