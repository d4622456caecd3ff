-- EVENT_TYPE_ORDER_CANCELLED (23): commerce's outbox announces an unpaid order closed by its buyer
-- or its payment timeout (value = the order's pay amount in fen). Appending Enum8 values is a
-- metadata-only change; room_changed (22) is listed too so this applies with or without 0005.
ALTER TABLE {db}.events MODIFY COLUMN type Enum8(
    'unspecified' = 0, 'room_impression' = 1, 'room_enter' = 2, 'room_leave' = 3,
    'chat' = 4, 'like' = 5, 'gift' = 6, 'share' = 7, 'follow' = 8, 'unfollow' = 9,
    'product_impression' = 10, 'product_click' = 11, 'add_to_cart' = 12,
    'order_created' = 13, 'order_paid' = 14, 'order_refunded' = 15, 'search' = 16,
    'search_click' = 17, 'stream_start' = 18, 'stream_end' = 19,
    'product_changed' = 20, 'experiment_exposure' = 21, 'room_changed' = 22, 'order_cancelled' = 23);
