-- EVENT_TYPE_ROOM_CHANGED (22): the room registry (live/postgres) announces every room, shelf,
-- schedule and session-state change through the outbox. Appending an Enum8 value is a
-- metadata-only change. room_changed events carry no user or device, so room_minute's
-- viewers never count them.
ALTER TABLE {db}.events MODIFY COLUMN type Enum8(
    'unspecified' = 0, 'room_impression' = 1, 'room_enter' = 2, 'room_leave' = 3,
    'chat' = 4, 'like' = 5, 'gift' = 6, 'share' = 7, 'follow' = 8, 'unfollow' = 9,
    'product_impression' = 10, 'product_click' = 11, 'add_to_cart' = 12,
    'order_created' = 13, 'order_paid' = 14, 'order_refunded' = 15, 'search' = 16,
    'search_click' = 17, 'stream_start' = 18, 'stream_end' = 19,
    'product_changed' = 20, 'experiment_exposure' = 21, 'room_changed' = 22);
