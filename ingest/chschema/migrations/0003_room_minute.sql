-- room_minute: per live room per UTC minute, what the live-room dashboard and
-- analysts want: viewers, enters, chats, likes, gifts, product clicks, carts,
-- orders, GMV. Read it with the -Merge combinators and GROUP BY, never FINAL:
--
--   SELECT minute, uniqMerge(viewers) AS viewers, sumMerge(enters) AS enters, ...
--   FROM room_minute WHERE room_id = 'r1' AND date = today() GROUP BY minute
--
-- viewers counts distinct users (device for anonymous viewers) who did
-- something inside the room (impressions of its card in a feed do not count).
-- likes is taps (an event's value, at least 1); gmv_fen is the paid amount.
CREATE TABLE IF NOT EXISTS {db}.room_minute
(
    date            Date,
    minute          DateTime('UTC'),
    room_id         String,
    merchant_id     AggregateFunction(max, String),
    viewers         AggregateFunction(uniqIf, String, UInt8),
    enters          AggregateFunction(sum, UInt64),
    chats           AggregateFunction(sum, UInt64),
    likes           AggregateFunction(sum, UInt64),
    gifts_fen       AggregateFunction(sum, Int64),
    product_clicks  AggregateFunction(sum, UInt64),
    add_to_carts    AggregateFunction(sum, UInt64),
    orders          AggregateFunction(sum, UInt64),
    paid_orders     AggregateFunction(sum, UInt64),
    gmv_fen         AggregateFunction(sum, Int64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(date)
ORDER BY (room_id, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.room_minute_mv TO {db}.room_minute
AS SELECT
    toDate(toStartOfMinute(time)) AS date,
    toStartOfMinute(time) AS minute,
    room_id,
    maxState(merchant_id) AS merchant_id,
    uniqIfState(if(user_id != '', user_id, concat('d:', device_id)),
        type NOT IN ('room_impression', 'stream_start', 'stream_end', 'product_changed')
        AND (user_id != '' OR device_id != '')) AS viewers,
    sumState(toUInt64(type = 'room_enter')) AS enters,
    sumState(toUInt64(type = 'chat')) AS chats,
    sumState(toUInt64(if(type = 'like', greatest(value, 1), 0))) AS likes,
    sumState(if(type = 'gift', value, 0)) AS gifts_fen,
    sumState(toUInt64(type = 'product_click')) AS product_clicks,
    sumState(toUInt64(type = 'add_to_cart')) AS add_to_carts,
    sumState(toUInt64(type = 'order_created')) AS orders,
    sumState(toUInt64(type = 'order_paid')) AS paid_orders,
    sumState(if(type = 'order_paid', value, 0)) AS gmv_fen
FROM {db}.events
WHERE room_id != ''
GROUP BY date, minute, room_id;
