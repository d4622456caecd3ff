// Package chschema holds the ClickHouse schema of tide's events tables as
// versioned migrations (embedded .sql files) and applies them.
//
// Applied versions are recorded in the schema_migrations table of the target
// database. Every statement is written to be idempotent (IF NOT EXISTS, DROP
// ... IF EXISTS, or a backfill into states that absorb copies), so a migration
// that was applied but not recorded (a crash in between, or two ingesters
// starting at once) is simply applied again. The SQL runs on ClickHouse 18.16
// and on current releases.
//
// # Reading the tables exactly
//
// Delivery is at-least-once into ClickHouse: a row of events can exist twice
// (an insert repeated after a crash, a client retry of Track that reached a
// second serve replica and so a second Kafka offset). Every table below is
// read so that each event_id counts once, without FINAL and without waiting
// for a merge:
//
// events — one row per event as it came off Kafka, a ReplacingMergeTree that
// collapses copies when parts merge, so until then count() and sum() are an
// upper bound. Read it exactly:
//
//   - number of events: uniqExact(event_id), uniqExactIf(event_id, type = 'chat');
//   - sums and per-event attributes: collapse by event_id first, with the
//     filters inside:
//     SELECT sum(value) FROM (SELECT event_id, any(value) AS value FROM events
//     WHERE date >= ... AND type = 'order_paid' AND room_id = 'r1' GROUP BY event_id);
//   - distinct people (uniqExact(user_id)), windowFunnel, min/max/any: copies
//     change nothing, read as usual.
//
// room_minute_exact — per live room per UTC minute: viewers, enters, chats,
// likes (taps), gifts_fen, product_clicks, add_to_carts, orders, paid_orders,
// gmv_fen, merchant_id. Its states are idempotent (uniqExactIf over the
// event_id hash for counts, groupUniqArrayIf of (event_id hash, value) for
// sums), so it is exact as stored. Merge per minute, then add minutes up:
//
//	SELECT sum(enters) AS enters, sum(gmv_fen) AS gmv_fen FROM (
//	    SELECT minute,
//	           uniqExactIfMerge(enters) AS enters,
//	           arraySum(arrayMap(x -> x.2, groupUniqArrayIfMerge(gmv_fen))) AS gmv_fen
//	    FROM room_minute_exact
//	    WHERE room_id = 'r1' AND date BETWEEN '2026-12-01' AND '2026-12-02'
//	    GROUP BY minute)
//
// viewers (uniqIf of user, or 'd:'+device) is a set of people: merge it over
// the whole range (uniqIfMerge(viewers) ... GROUP BY room_id), never add
// minutes up; maxMerge(merchant_id) likewise. Filter on room_id (the sort key
// leads with it) and date (the partition key). The table room_minute of
// migration 0003 counted copies forever and is dropped by 0004.
//
// report_events (0007) — the columns of events the merchant reports read
// (serving/report/chreport), with eh = cityHash64(event_id) and uh =
// cityHash64 of the viewer, ordered by (merchant_id, live_session_id,
// event_id) so a merchant's or a session's rows are found by the key. Fed by
// a view from events (merchant traffic only) and backfilled by its
// migration. It holds copies as events does: read it with aggregates that
// copies cannot change (uniqExact(eh), uniqExact(uh), min/max, or distinct
// events per (minute, type, value) times the value for sums).
//
// experiment_arms (0008) — per experiment, Asia/Shanghai day number and
// viewer u, an any() state of the arm their events carried that day; read
// anyMerge(arm) ... GROUP BY u. Fed by a view, backfilled by its migration.
//
// kafka_offsets — per topic partition, maxMerge(max_offset) is the highest
// offset events holds (where ingest resumes) and countMerge(rows) the number
// of rows ever inserted, copies included: what the fault tests compare with
// what was produced. Not for reports.
package chschema
