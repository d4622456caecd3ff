-- Analyst queries over tide's ClickHouse tables (ClickHouse 18.16 and later).
-- Run with: clickhouse-client --port 19000 --database tide --multiquery < ingest/analyst_queries.sql
--
-- Storage is UTC; merchants think in Asia/Shanghai. `date` is the UTC day of
-- ts and partitions the events table: filter on it for speed (a Shanghai day
-- spans two UTC days), then on the exact Shanghai day. Counts use count():
-- ingest is effectively-once, so no query needs FINAL. Rollups are read with
-- -Merge combinators and GROUP BY. Replace 'r1' with the room of interest.

-- name: room_minutes_today
-- One live room, minute by minute, today in Asia/Shanghai (from the room_minute rollup).
SELECT
    toString(minute, 'Asia/Shanghai') AS minute_shanghai,
    uniqIfMerge(viewers)              AS viewers,
    sumMerge(enters)                  AS enters,
    sumMerge(chats)                   AS chats,
    sumMerge(likes)                   AS likes,
    sumMerge(product_clicks)          AS product_clicks,
    sumMerge(orders)                  AS orders,
    sumMerge(gmv_fen)                 AS gmv_fen
FROM room_minute
WHERE room_id = 'r1'
  AND date >= toDate(now(), 'Asia/Shanghai') - 1
  AND toDate(minute, 'Asia/Shanghai') = toDate(now(), 'Asia/Shanghai')
GROUP BY minute
ORDER BY minute;

-- name: top_rooms_by_gmv_today
-- Rooms by paid GMV today (Asia/Shanghai), with their merchant and viewers.
SELECT
    room_id,
    maxMerge(merchant_id)  AS merchant_id,
    sumMerge(gmv_fen)      AS gmv_fen,
    sumMerge(paid_orders)  AS paid_orders,
    uniqIfMerge(viewers)   AS viewers
FROM room_minute
WHERE date >= toDate(now(), 'Asia/Shanghai') - 1
  AND toDate(minute, 'Asia/Shanghai') = toDate(now(), 'Asia/Shanghai')
GROUP BY room_id
ORDER BY gmv_fen DESC, room_id
LIMIT 10;

-- name: funnel_today
-- Viewers who entered a room, then clicked a product, added to cart and
-- ordered, in that order within a day (anonymous viewers by device).
SELECT
    countIf(level >= 1) AS entered,
    countIf(level >= 2) AS clicked,
    countIf(level >= 3) AS added_to_cart,
    countIf(level >= 4) AS ordered
FROM
(
    SELECT
        if(user_id != '', user_id, concat('d:', device_id)) AS viewer,
        windowFunnel(86400)(time, type = 'room_enter', type = 'product_click',
                                  type = 'add_to_cart', type = 'order_created') AS level
    FROM events
    WHERE date >= toDate(now(), 'Asia/Shanghai') - 1
      AND toDate(time, 'Asia/Shanghai') = toDate(now(), 'Asia/Shanghai')
      AND type IN ('room_enter', 'product_click', 'add_to_cart', 'order_created')
    GROUP BY viewer
);

-- name: chat_volume_today
-- Chat messages (弹幕) per room per hour today, Asia/Shanghai hours.
SELECT
    room_id,
    toString(toStartOfHour(time, 'Asia/Shanghai'), 'Asia/Shanghai') AS hour_shanghai,
    count()                                                        AS chats,
    uniqExact(user_id)                                             AS chatters
FROM events
WHERE type = 'chat'
  AND date >= toDate(now(), 'Asia/Shanghai') - 1
  AND toDate(time, 'Asia/Shanghai') = toDate(now(), 'Asia/Shanghai')
GROUP BY room_id, hour_shanghai
ORDER BY room_id, hour_shanghai;

-- name: experiment_arms_7d
-- Per experiment arm over the last 7 days: users, paid orders and GMV of the
-- events that carried the assignment.
SELECT
    experiments.name                  AS experiment,
    experiments.arm                   AS arm,
    uniqExact(user_id)                AS users,
    countIf(type = 'order_paid')      AS paid_orders,
    sumIf(value, type = 'order_paid') AS gmv_fen
FROM events
ARRAY JOIN experiments
WHERE date >= today() - 7
GROUP BY experiment, arm
ORDER BY experiment, arm;
