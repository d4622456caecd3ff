-- Presale (预售): an activity takes a deposit per unit in its deposit window, out of an allotment of its
-- own, and the balance (price − the 定金膨胀 deduction) in its balance window. Each buyer's purchase is
-- an entry: its deposit order, then its balance order (both ordinary orders, paid through WeChat Pay
-- like any other). Every entry state change is a row in presale_transitions. An entry still
-- deposit_paid when the balance window ends is forfeited by ExpirePresales (the durable timer is the
-- partial index below, claimed with FOR UPDATE SKIP LOCKED, as group buys are).

-- +goose Up
CREATE TABLE presales (
    id                text PRIMARY KEY,
    merchant_id       text        NOT NULL REFERENCES merchants (id),
    sku_id            text        NOT NULL REFERENCES skus (id),
    price_fen         bigint      NOT NULL CHECK (price_fen >= 0),
    deposit_fen       bigint      NOT NULL CHECK (deposit_fen > 0 AND deposit_fen <= price_fen),
    deduction_fen     bigint      NOT NULL CHECK (deduction_fen >= deposit_fen),
    deposit_starts_at timestamptz NOT NULL,
    deposit_ends_at   timestamptz NOT NULL CHECK (deposit_ends_at > deposit_starts_at),
    balance_starts_at timestamptz NOT NULL CHECK (balance_starts_at >= deposit_ends_at),
    balance_ends_at   timestamptz NOT NULL CHECK (balance_ends_at > balance_starts_at),
    allotment         bigint      NOT NULL CHECK (allotment > 0),
    remaining         bigint      NOT NULL,
    per_user_limit    bigint      NOT NULL CHECK (per_user_limit > 0),
    cancelled_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT presales_remaining CHECK (remaining >= 0 AND remaining <= allotment)
);
CREATE INDEX presales_merchant ON presales (merchant_id, created_at DESC);

-- Units each buyer holds (deposit unpaid or paid) or bought; the limit is copied in for the CHECK.
CREATE TABLE presale_buyers (
    presale_id     text   NOT NULL REFERENCES presales (id),
    user_id        text   NOT NULL,
    quantity       bigint NOT NULL,
    per_user_limit bigint NOT NULL,
    PRIMARY KEY (presale_id, user_id),
    CONSTRAINT presale_buyers_limit CHECK (quantity >= 0 AND quantity <= per_user_limit)
);

CREATE TABLE presale_entries (
    deposit_order_id text PRIMARY KEY REFERENCES orders (id),
    presale_id       text        NOT NULL REFERENCES presales (id),
    user_id          text        NOT NULL,
    quantity         bigint      NOT NULL CHECK (quantity > 0),
    state            text        NOT NULL CHECK (state IN ('deposit_unpaid', 'deposit_paid', 'completed', 'released', 'forfeited', 'cancelled')),
    -- the current balance order (a closed one is replaced by the next submit)
    balance_order_id text REFERENCES orders (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX presale_entries_presale ON presale_entries (presale_id, deposit_order_id);
CREATE INDEX presale_entries_user ON presale_entries (user_id, created_at DESC);
CREATE INDEX presale_entries_due ON presale_entries (presale_id) WHERE state = 'deposit_paid';

-- Every order of an entry (its deposit order and each balance order), to find the entry of an order
-- that is paid or closed.
CREATE TABLE presale_orders (
    order_id         text PRIMARY KEY REFERENCES orders (id),
    deposit_order_id text NOT NULL REFERENCES presale_entries (deposit_order_id),
    kind             text NOT NULL CHECK (kind IN ('deposit', 'balance'))
);

CREATE TABLE presale_transitions (
    id               bigserial PRIMARY KEY,
    deposit_order_id text        NOT NULL,
    from_state       text        NOT NULL,
    to_state         text        NOT NULL,
    reason           text        NOT NULL DEFAULT '',
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX presale_transitions_entry ON presale_transitions (deposit_order_id, id);

-- +goose Down
DROP TABLE presale_transitions;
DROP TABLE presale_orders;
DROP TABLE presale_entries;
DROP TABLE presale_buyers;
DROP TABLE presales;
