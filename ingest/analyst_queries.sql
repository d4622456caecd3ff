-- Analyst queries over tide's ClickHouse tables (ClickHouse 18.16 and later).
-- Run with: clickhouse-client --port 19000 --database tide --multiquery < ingest/analyst_queries.sql
--
-- Storage is UTC; merchants think in Asia/Shanghai. `date` is the UTC day of
-- ts and partitions the events table: filter on it for speed (a Shanghai day
-- spans two UTC days), then on the exact Shanghai day. Replace 'r1' with the
-- room of interest.
--
-- Each query counts every event_id once, without FINAL, even while events
-- still holds a copy of an event (delivery is at-least-once: an insert
-- repeated after a crash, a client retry that reached a second serve replica):
--   - on events, count events with uniqExact(event_id) and sum over an inner
--     GROUP BY event_id (count() and sum() are upper bounds until parts merge);
--     distinct people and windowFunnel are unaffected by copies;
--   - room_minute_exact is exact as stored: merge per minute with
--     uniqExactIfMerge (counts) and groupUniqArrayIfMerge (sums of
--     (event hash, value) pairs), then add minutes up; merge viewers over the
--     whole range instead (people, not events).

-- name: room_minutes_today
-- One live room, minute by minute, today in Asia/Shanghai (from room_minute_exact).
SELECT
    toString(minute, 'Asia/Shanghai')                              AS minute_shanghai,
    uniqIfMerge(viewers)                                           AS viewers,
    uniqExactIfMerge(enters)                                       AS enters,
    uniqExactIfMerge(chats)                                        AS chats,
    arraySum(arrayMap(x -> x.2, groupUniqArrayIfMerge(likes)))     AS likes,
    uniqExactIfMerge(product_clicks)                               AS product_clicks,
    uniqExactIfMerge(orders)                                       AS orders,
    arraySum(arrayMap(x -> x.2, groupUniqArrayIfMerge(gmv_fen)))   AS gmv_fen
FROM room_minute_exact
WHERE room_id = 'r1'
  AND date >= toDate(now(), 'Asia/Shanghai') - 1
  AND toDate(minute, 'Asia/Shanghai') = toDate(now(), 'Asia/Shanghai')
GROUP BY minute
ORDER BY minute;

-- name: top_rooms_by_gmv_today
-- Rooms by paid GMV today (Asia/Shanghai), with their merchant and viewers:
-- each room-minute merged first, then minutes added up (viewers and merchant
-- carried as states and merged over the day).
SELECT
    room_id,
    maxMerge(merchant)    AS merchant_id,
    sum(gmv)              AS gmv_fen,
    sum(paid)             AS paid_orders,
    uniqIfMerge(people)   AS viewers
FROM
(
    SELECT
        room_id,
        minute,
        maxMergeState(merchant_id)                                   AS merchant,
        arraySum(arrayMap(x -> x.2, groupUniqArrayIfMerge(gmv_fen)))  AS gmv,
        uniqExactIfMerge(paid_orders)                                 AS paid,
        uniqIfMergeState(viewers)                                     AS people
    FROM room_minute_exact
    WHERE date >= toDate(now(), 'Asia/Shanghai') - 1
      AND toDate(minute, 'Asia/Shanghai') = toDate(now(), 'Asia/Shanghai')
    GROUP BY room_id, minute
)
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
    uniqExact(event_id)                                            AS chats,
    uniqExact(user_id)                                             AS chatters
FROM events
WHERE type = 'chat'
  AND date >= toDate(now(), 'Asia/Shanghai') - 1
  AND toDate(time, 'Asia/Shanghai') = toDate(now(), 'Asia/Shanghai')
GROUP BY room_id, hour_shanghai
ORDER BY room_id, hour_shanghai;

-- name: experiment_arms_7d
-- Per experiment arm over the last 7 days: users, paid orders and GMV of the
-- events that carried the assignment (each event collapsed by event_id first,
-- so a copy of a paid order counts once).
SELECT
    experiment,
    arm,
    uniqExact(user_id)                AS users,
    countIf(type = 'order_paid')      AS paid_orders,
    sumIf(value, type = 'order_paid') AS gmv_fen
FROM
(
    SELECT
        event_id,
        experiments.name  AS experiment,
        experiments.arm   AS arm,
        any(user_id)      AS user_id,
        any(type)         AS type,
        any(value)        AS value
    FROM events
    ARRAY JOIN experiments
    WHERE date >= today() - 7
    GROUP BY event_id, experiment, arm
)
GROUP BY experiment, arm
ORDER BY experiment, arm;
