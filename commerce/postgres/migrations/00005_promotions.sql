-- Promotions: a room's or a shop's 满减 / 折扣, and coupons (a promotion users must hold), priced by
-- commerce/pricing; promotion_uses counts each user's orders per promotion for per-user limits.

-- +goose Up
CREATE TABLE promotions (
    id               text PRIMARY KEY,
    merchant_id      text        NOT NULL REFERENCES merchants (id),
    room_id          text        NOT NULL DEFAULT '', -- set for room promotions
    source           text        NOT NULL CHECK (source IN ('room', 'shop', 'coupon')),
    kind             text        NOT NULL CHECK (kind IN ('tiered', 'percent')),
    tiers            jsonb       NOT NULL DEFAULT '[]', -- [{"threshold_fen":…,"off_fen":…}]
    pay_basis_points bigint      NOT NULL DEFAULT 0,
    cap_fen          bigint      NOT NULL DEFAULT 0,
    threshold_fen    bigint      NOT NULL DEFAULT 0,
    valid_from       timestamptz,
    valid_until      timestamptz,
    per_user_limit   int         NOT NULL DEFAULT 0,
    stackable        boolean     NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX promotions_merchant ON promotions (merchant_id, source, created_at DESC);

CREATE TABLE user_coupons (
    promotion_id text        NOT NULL REFERENCES promotions (id),
    user_id      text        NOT NULL,
    granted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (promotion_id, user_id)
);

CREATE TABLE promotion_uses (
    promotion_id text NOT NULL,
    user_id      text NOT NULL,
    order_id     text NOT NULL,
    PRIMARY KEY (promotion_id, order_id)
);
CREATE INDEX promotion_uses_user ON promotion_uses (promotion_id, user_id);

-- +goose Down
DROP TABLE promotion_uses;
DROP TABLE user_coupons;
DROP TABLE promotions;
