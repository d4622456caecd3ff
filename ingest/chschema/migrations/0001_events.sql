-- events: one row per accepted Event, as it came off the Kafka events topic.
--
-- Deduplication backstop: ReplacingMergeTree collapses rows with an equal
-- sorting key inside one partition when parts merge. Every column of the
-- sorting key and of the partition key is derived from fields the client made
-- (ts, type, room_id, event_id), never from received_at or the Kafka position,
-- so two copies of one event_id (a redelivery, or a client retry of Track that
-- landed at another offset) always share both keys and always collapse. The key
-- may therefore lead with date, type and room for analysts' speed. Ingest is
-- effectively-once on its own (it resumes after the highest Kafka offset the
-- table holds, see kafka_offsets), so reports count with count() and never need
-- FINAL; the merge only mops up client retries.
--
-- type: Enum8 with the names of ingest.TypeName ('room_enter', 'order_paid', ...).
-- A new EventType is `ALTER TABLE events MODIFY COLUMN type Enum8(...)` with the
-- value appended, a metadata-only change, in a new migration.
CREATE TABLE IF NOT EXISTS {db}.events
(
    event_id        String,
    type            Enum8(
        'unspecified' = 0, 'room_impression' = 1, 'room_enter' = 2, 'room_leave' = 3,
        'chat' = 4, 'like' = 5, 'gift' = 6, 'share' = 7, 'follow' = 8, 'unfollow' = 9,
        'product_impression' = 10, 'product_click' = 11, 'add_to_cart' = 12,
        'order_created' = 13, 'order_paid' = 14, 'order_refunded' = 15, 'search' = 16,
        'search_click' = 17, 'stream_start' = 18, 'stream_end' = 19,
        'product_changed' = 20, 'experiment_exposure' = 21),
    ts              Int64,              -- client time, Unix ms
    received_at     Int64,              -- server time, Unix ms
    time            DateTime('UTC') DEFAULT toDateTime(intDiv(ts, 1000), 'UTC'),
    received_time   DateTime('UTC') DEFAULT toDateTime(intDiv(received_at, 1000), 'UTC'),
    date            Date DEFAULT toDate(toDateTime(intDiv(ts, 1000), 'UTC')),  -- UTC day of ts
    user_id         String,
    device_id       String,
    merchant_id     String,
    room_id         String,
    live_session_id String,
    product_id      String,
    request_id      String,
    position        Int32,
    value           Int64,              -- fen for money, ms for dwell, counts
    text            String,
    experiments     Nested(name String, arm String),
    attrs           Nested(key String, value String),
    kafka_topic     String,
    kafka_partition Int32,
    kafka_offset    Int64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(date)
ORDER BY (date, type, room_id, event_id);
