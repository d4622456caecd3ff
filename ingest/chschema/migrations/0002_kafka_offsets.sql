-- kafka_offsets: the highest Kafka offset per topic partition that the events
-- table holds, kept by a materialized view so that ingest finds where to resume
-- without scanning events. ClickHouse writes a block to events first and to its
-- views after, so this table can lag events (ingest then re-inserts a few rows,
-- which the events merge collapses) but never runs ahead of them (no loss).
-- Read with maxMerge(max_offset) ... GROUP BY kafka_topic, kafka_partition.
CREATE TABLE IF NOT EXISTS {db}.kafka_offsets
(
    kafka_topic     String,
    kafka_partition Int32,
    max_offset      AggregateFunction(max, Int64),
    rows            AggregateFunction(count)
)
ENGINE = AggregatingMergeTree()
ORDER BY (kafka_topic, kafka_partition);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.kafka_offsets_mv TO {db}.kafka_offsets
AS SELECT
    kafka_topic,
    kafka_partition,
    maxState(kafka_offset) AS max_offset,
    countState() AS rows
FROM {db}.events
GROUP BY kafka_topic, kafka_partition;
