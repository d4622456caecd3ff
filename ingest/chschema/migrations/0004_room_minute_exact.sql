-- room_minute_exact: per live room per UTC minute, what the live-room
-- dashboard and reports read (viewers, enters, chats, likes, gifts, product
-- clicks, carts, orders, GMV), exact under duplicates. It replaces room_minute
-- of 0003, whose sum states counted a duplicate row of events (an insert
-- repeated after a crash, a client retry that reached a second serve replica)
-- forever; that table and its view are dropped here.
--
-- Every count is the number of distinct event_ids (uniqExactIf over
-- cityHash64(event_id)) and every sum is taken over distinct (event_id, value)
-- pairs (groupUniqArrayIf), so a state absorbs any number of copies of an
-- event: the table is exact after any crash, redelivery or retry, without
-- FINAL and without waiting for a merge. A copy of an event is the same event
-- (event_id is the idempotency key), so it shares ts, room_id and value, hence
-- its minute: the 64-bit hashes need only be distinct within one room-minute.
-- Read it by merging per minute, then adding the minutes up (faster than one
-- merge over the whole range, and the same answer):
--
--   SELECT sum(enters), sum(gmv_fen) FROM (
--       SELECT minute, uniqExactIfMerge(enters) AS enters,
--              arraySum(arrayMap(x -> x.2, groupUniqArrayIfMerge(gmv_fen))) AS gmv_fen
--       FROM room_minute_exact WHERE room_id = 'r1' AND date = today() GROUP BY minute)
--
-- viewers (distinct users, or 'd:'+device for anonymous viewers) is a set of
-- people, not of events: merge it over the whole range, never add minutes up.
-- likes is taps (an event's value, at least 1); gmv_fen is the paid amount.
--
-- backfill: idempotent. The view is created before the table is filled from
-- events, so a row inserted meanwhile may reach the table twice, and several
-- migrators running this at once each backfill; the states absorb both.
CREATE TABLE IF NOT EXISTS {db}.room_minute_exact
(
    date            Date,
    minute          DateTime('UTC'),
    room_id         String,
    merchant_id     AggregateFunction(max, String),
    viewers         AggregateFunction(uniqIf, String, UInt8),
    enters          AggregateFunction(uniqExactIf, UInt64, UInt8),
    chats           AggregateFunction(uniqExactIf, UInt64, UInt8),
    likes           AggregateFunction(groupUniqArrayIf, Tuple(UInt64, Int64), UInt8),
    gifts_fen       AggregateFunction(groupUniqArrayIf, Tuple(UInt64, Int64), UInt8),
    product_clicks  AggregateFunction(uniqExactIf, UInt64, UInt8),
    add_to_carts    AggregateFunction(uniqExactIf, UInt64, UInt8),
    orders          AggregateFunction(uniqExactIf, UInt64, UInt8),
    paid_orders     AggregateFunction(uniqExactIf, UInt64, UInt8),
    gmv_fen         AggregateFunction(groupUniqArrayIf, Tuple(UInt64, Int64), UInt8)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(date)
ORDER BY (room_id, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.room_minute_exact_mv TO {db}.room_minute_exact
AS SELECT
    toDate(toStartOfMinute(time)) AS date,
    toStartOfMinute(time) AS minute,
    room_id,
    maxState(merchant_id) AS merchant_id,
    uniqIfState(if(user_id != '', user_id, concat('d:', device_id)),
        type NOT IN ('room_impression', 'stream_start', 'stream_end', 'product_changed')
        AND (user_id != '' OR device_id != '')) AS viewers,
    uniqExactIfState(cityHash64(event_id), type = 'room_enter') AS enters,
    uniqExactIfState(cityHash64(event_id), type = 'chat') AS chats,
    groupUniqArrayIfState((cityHash64(event_id), greatest(value, 1)), type = 'like') AS likes,
    groupUniqArrayIfState((cityHash64(event_id), value), type = 'gift') AS gifts_fen,
    uniqExactIfState(cityHash64(event_id), type = 'product_click') AS product_clicks,
    uniqExactIfState(cityHash64(event_id), type = 'add_to_cart') AS add_to_carts,
    uniqExactIfState(cityHash64(event_id), type = 'order_created') AS orders,
    uniqExactIfState(cityHash64(event_id), type = 'order_paid') AS paid_orders,
    groupUniqArrayIfState((cityHash64(event_id), value), type = 'order_paid') AS gmv_fen
FROM {db}.events
WHERE room_id != ''
GROUP BY date, minute, room_id;

INSERT INTO {db}.room_minute_exact (date, minute, room_id, merchant_id, viewers, enters, chats, likes,
    gifts_fen, product_clicks, add_to_carts, orders, paid_orders, gmv_fen)
SELECT
    toDate(toStartOfMinute(time)) AS date,
    toStartOfMinute(time) AS minute,
    room_id,
    maxState(merchant_id),
    uniqIfState(if(user_id != '', user_id, concat('d:', device_id)),
        type NOT IN ('room_impression', 'stream_start', 'stream_end', 'product_changed')
        AND (user_id != '' OR device_id != '')),
    uniqExactIfState(cityHash64(event_id), type = 'room_enter'),
    uniqExactIfState(cityHash64(event_id), type = 'chat'),
    groupUniqArrayIfState((cityHash64(event_id), greatest(value, 1)), type = 'like'),
    groupUniqArrayIfState((cityHash64(event_id), value), type = 'gift'),
    uniqExactIfState(cityHash64(event_id), type = 'product_click'),
    uniqExactIfState(cityHash64(event_id), type = 'add_to_cart'),
    uniqExactIfState(cityHash64(event_id), type = 'order_created'),
    uniqExactIfState(cityHash64(event_id), type = 'order_paid'),
    groupUniqArrayIfState((cityHash64(event_id), value), type = 'order_paid')
FROM {db}.events
WHERE room_id != ''
GROUP BY date, minute, room_id;

DROP TABLE IF EXISTS {db}.room_minute_mv;

DROP TABLE IF EXISTS {db}.room_minute;
