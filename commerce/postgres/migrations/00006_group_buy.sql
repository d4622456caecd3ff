-- Group buy (拼团): an activity sells a SKU at a group price to groups of group_size buyers; a leader
-- opens a group, members join until group_size members have paid within the window → the group
-- succeeds (its orders may ship); otherwise it fails at expires_at and every paid member is refunded.

-- +goose Up
CREATE TABLE group_buys (
    id          text PRIMARY KEY,
    merchant_id text        NOT NULL REFERENCES merchants (id),
    sku_id      text        NOT NULL REFERENCES skus (id),
    price_fen   bigint      NOT NULL CHECK (price_fen >= 0),
    group_size  int         NOT NULL CHECK (group_size >= 2),
    window_secs int         NOT NULL CHECK (window_secs > 0),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at)
);

CREATE TABLE buy_groups (
    id           text PRIMARY KEY,
    group_buy_id text        NOT NULL REFERENCES group_buys (id),
    leader_id    text        NOT NULL,
    state        text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'succeeded', 'failed')),
    opened_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX buy_groups_open ON buy_groups (expires_at) WHERE state = 'open';

ALTER TABLE orders ADD COLUMN group_id text REFERENCES buy_groups (id);
CREATE INDEX orders_group ON orders (group_id) WHERE group_id IS NOT NULL;

-- +goose Down
ALTER TABLE orders DROP COLUMN group_id;
DROP TABLE buy_groups;
DROP TABLE group_buys;
