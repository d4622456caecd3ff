-- Orders: the business order and its lines, every state transition as a row, the durable payment
-- timeout timer, payment attempts (one out_trade_no each, prepaid once) and refunds; the cart.

-- +goose Up
CREATE TABLE orders (
    -- commerce/order.ID(user_id, idempotency_key): a repeated submit collides here
    id              text PRIMARY KEY,
    user_id         text        NOT NULL,
    merchant_id     text        NOT NULL,
    room_id         text        NOT NULL DEFAULT '',
    idempotency_key text        NOT NULL,
    flash_sale_id   text,
    total_fen       bigint      NOT NULL CHECK (total_fen >= 0),
    discount_fen    bigint      NOT NULL CHECK (discount_fen >= 0),
    pay_fen         bigint      NOT NULL CHECK (pay_fen >= 0),
    pay_state       text        NOT NULL,
    fulfil_state    text        NOT NULL,
    refund_state    text        NOT NULL,
    tracking_no     text        NOT NULL DEFAULT '',
    expires_at      timestamptz NOT NULL,
    paid_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (total_fen = discount_fen + pay_fen)
);
CREATE INDEX orders_user ON orders (user_id, created_at DESC);
CREATE INDEX orders_merchant ON orders (merchant_id, created_at DESC);

CREATE TABLE order_lines (
    order_id     text   NOT NULL REFERENCES orders (id),
    line_no      int    NOT NULL,
    product_id   text   NOT NULL,
    sku_id       text   NOT NULL,
    unit_fen     bigint NOT NULL CHECK (unit_fen >= 0),
    quantity     bigint NOT NULL CHECK (quantity > 0),
    total_fen    bigint NOT NULL,
    discount_fen bigint NOT NULL CHECK (discount_fen >= 0),
    pay_fen      bigint NOT NULL CHECK (pay_fen >= 0),
    PRIMARY KEY (order_id, line_no),
    CHECK (total_fen = unit_fen * quantity AND total_fen = discount_fen + pay_fen)
);

CREATE TABLE order_transitions (
    id         bigserial PRIMARY KEY,
    order_id   text        NOT NULL,
    machine    text        NOT NULL,
    from_state text        NOT NULL,
    to_state   text        NOT NULL,
    reason     text        NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_transitions_order ON order_transitions (order_id, id);

-- The payment timeout: one row per unpaid order, due at its expiry; workers claim due rows with
-- FOR UPDATE SKIP LOCKED, so a timer outlives the process that set it.
CREATE TABLE order_timers (
    order_id text PRIMARY KEY,
    due_at   timestamptz NOT NULL,
    tries    int         NOT NULL DEFAULT 0
);
CREATE INDEX order_timers_due ON order_timers (due_at);

CREATE TABLE payment_attempts (
    out_trade_no   text PRIMARY KEY,
    order_id       text        NOT NULL REFERENCES orders (id),
    amount_fen     bigint      NOT NULL CHECK (amount_fen > 0),
    state          text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'paid', 'closed')),
    prepay_id      text        NOT NULL DEFAULT '',
    transaction_id text        NOT NULL DEFAULT '',
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_attempts_order ON payment_attempts (order_id);

CREATE TABLE refunds (
    out_refund_no text PRIMARY KEY,
    order_id      text        NOT NULL REFERENCES orders (id),
    out_trade_no  text        NOT NULL REFERENCES payment_attempts (out_trade_no),
    amount_fen    bigint      NOT NULL CHECK (amount_fen > 0),
    reason        text        NOT NULL DEFAULT '',
    state         text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'processing', 'success', 'failed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_pending ON refunds (created_at) WHERE state IN ('pending', 'failed');

CREATE TABLE cart_items (
    user_id    text        NOT NULL,
    sku_id     text        NOT NULL,
    quantity   bigint      NOT NULL CHECK (quantity > 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, sku_id)
);

-- +goose Down
DROP TABLE cart_items;
DROP TABLE refunds;
DROP TABLE payment_attempts;
DROP TABLE order_timers;
DROP TABLE order_transitions;
DROP TABLE order_lines;
DROP TABLE orders;
