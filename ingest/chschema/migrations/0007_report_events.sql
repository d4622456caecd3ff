-- report_events: the columns of events the merchant reports read, ordered by
-- merchant and live session (serving/report/chreport reads it, never events).
-- events is ordered (date, type, room_id, event_id), so a session or a
-- merchant's range there is a scan of every row of its days; here it is the
-- rows of that merchant (and session) only, found by the primary key.
--
-- eh is cityHash64(event_id) and uh cityHash64 of the viewer (user_id, or
-- 'd:'+device_id when anonymous), computed once here so that reads count
-- distinct events and distinct people over UInt64s instead of hashing
-- strings on every read.
--
-- Exact under duplicates the way events is: a copy of an event (same
-- event_id) shares every column, hence the sorting and partition keys, and
-- ReplacingMergeTree collapses the copies when parts merge. Readers never
-- depend on the merge: they read only aggregates that copies cannot change
-- (distinct eh, distinct (eh, value) pairs) — never FINAL. A 64-bit hash
-- needs to be distinct only among the events (people) of one read (a
-- merchant's range); a collision among a million has a chance near 3e-8.
--
-- Fraud exclusion stays at read time (user_id and device_id are kept), so a
-- flag written after the events still removes them.
--
-- type has the names of events.type (as of 0006): a migration that appends an
-- EventType alters both tables.
--
-- Fed by report_events_mv for every insert into events (a late event lands
-- here like any other); events without a merchant (searches, experiment
-- exposures) are not merchant traffic and stay out.
--
-- backfill: idempotent. The view is created before the table is filled from
-- events, so a row inserted meanwhile may reach the table twice, and several migrators
-- running this at once each backfill; readers count each eh once either way.
-- On a large deployment the INSERT takes about as long as one scan of
-- events' columns below.
CREATE TABLE IF NOT EXISTS {db}.report_events
(
    date            Date,
    merchant_id     String,
    live_session_id String,
    event_id        String,
    eh              UInt64,
    uh              UInt64,
    type            Enum8(
        'unspecified' = 0, 'room_impression' = 1, 'room_enter' = 2, 'room_leave' = 3,
        'chat' = 4, 'like' = 5, 'gift' = 6, 'share' = 7, 'follow' = 8, 'unfollow' = 9,
        'product_impression' = 10, 'product_click' = 11, 'add_to_cart' = 12,
        'order_created' = 13, 'order_paid' = 14, 'order_refunded' = 15, 'search' = 16,
        'search_click' = 17, 'stream_start' = 18, 'stream_end' = 19,
        'product_changed' = 20, 'experiment_exposure' = 21, 'room_changed' = 22, 'order_cancelled' = 23),
    ts              Int64,
    user_id         String,
    device_id       String,
    room_id         String,
    product_id      String,
    value           Int64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(date)
ORDER BY (merchant_id, live_session_id, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.report_events_mv TO {db}.report_events
AS SELECT date, merchant_id, live_session_id, event_id, cityHash64(event_id) AS eh,
    cityHash64(if(user_id != '', user_id, concat('d:', device_id))) AS uh,
    type AS type,
    ts, user_id, device_id, room_id, product_id, value
FROM {db}.events
WHERE merchant_id != '';

INSERT INTO {db}.report_events (date, merchant_id, live_session_id, event_id, eh, uh, type, ts, user_id,
    device_id, room_id, product_id, value)
SELECT date, merchant_id, live_session_id, event_id, cityHash64(event_id),
    cityHash64(if(user_id != '', user_id, concat('d:', device_id))),
    type,
    ts, user_id, device_id, room_id, product_id, value
FROM {db}.events
WHERE merchant_id != '';
