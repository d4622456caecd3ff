// Package ingest moves events from the Kafka events topic into ClickHouse:
// decoding, validation, dead letters, batching, the ClickHouse sink and the
// schema migrations of the events tables (package chschema). It also owns the
// rules of what a valid event is, which the Track RPC applies before
// producing.
//
// # Effectively once on ClickHouse 18.16
//
// ClickHouse 18.16 has no transactions and no insert deduplication that
// survives a client crash, so the Kafka position travels with the data:
//
//   - every row carries kafka_topic, kafka_partition and kafka_offset;
//   - a materialized view keeps, per topic partition, the highest offset the
//     events table holds (table kafka_offsets). ClickHouse writes a block to
//     events before its views, so this can lag the data but never lead it;
//   - batches of one partition are inserted strictly in order, one insert at a
//     time, each retried (capped exponential backoff) until it lands or the
//     partition is revoked, so the held offset of a partition is always the end
//     of a gap-free prefix;
//   - when partitions are assigned, ingest first waits for the inserts into
//     events that ClickHouse is still running (system.processes: an insert
//     outlives a killed or revoked client), then starts after the held offset
//     when that is past the group's committed offset (kgo.AdjustFetchOffsetsFn);
//   - offsets are committed only after ClickHouse acknowledged the batch (and
//     the dead-letter topic its bad records), so a commit never runs ahead of
//     ClickHouse; a retried insert first checks whether the failed attempt
//     landed after all;
//   - rebalancing is eager: every rebalance drops what is buffered and the new
//     assignment resumes from ClickHouse again.
//
// A crash at any point therefore re-reads at most what ClickHouse does not
// hold. Copies remain possible all the same: a client retrying Track after a
// lost answer can reach a second serve replica and so a second Kafka offset,
// and a zombie insert can finish after a rebalance. So every table a report
// reads is exact under copies, without FINAL: the events table is a
// ReplacingMergeTree (its sorting and partition keys derive only from fields
// the client made, so copies collapse when parts merge) read with
// uniqExact(event_id) or an inner GROUP BY event_id, and the rollup
// room_minute_exact keeps sets of event ids rather than sums. How to read each
// table is in the doc comment of package chschema.
//
// # Provenance
//
// provenance.go is the one table of who may send which event type: users,
// merchants (for their own merchant id) and admins send behaviour, through
// Track only; money, state and attribution (gifts, orders, streams, product
// changes, exposures) come from the server alone. Every record on the events
// topic names its producer in the ProducerHeader (TrackRecord, ServerRecord);
// a record of a server-only type whose producer is not the server, or that
// names none, does not validate (CheckRecord) and goes to dead letters.
//
// Records that do not decode or do not validate go to the dead-letter topic
// with the reason and their origin in headers (HeaderReason, …). Dead-letter
// produce is asynchronous and never holds up the healthy stream.
package ingest
