-- Stock reservations and flash-sale (秒杀) activity stock.
--
-- skus.stock is what is still for sale. A reservation (an order's hold on units) takes units
-- out of skus.stock, or out of a flash sale's remaining allotment, in the transaction that
-- records it; releasing it gives them back, selling it keeps them out. The CHECK constraints
-- are the oversell guard: PostgreSQL refuses any write that would take stock below zero or a
-- buyer past the per-user limit, whatever the application believes.

-- flash_sale_buyers and stock_reservations have no foreign keys on purpose: a foreign-key check
-- locks the referenced row FOR KEY SHARE, and every concurrent buyer of a flash sale would join a
-- MultiXact on the one hot flash_sales (and skus) row; measured in bench/flashsale, that alone
-- cost most of the throughput. The rows are written only by commerce/postgres, which takes the
-- ids from rows it has read.

-- +goose Up
CREATE TABLE flash_sales (
    id             text PRIMARY KEY,
    merchant_id    text        NOT NULL REFERENCES merchants (id),
    sku_id         text        NOT NULL REFERENCES skus (id),
    price_fen      bigint      NOT NULL CHECK (price_fen >= 0),
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL CHECK (ends_at > starts_at),
    allotment      bigint      NOT NULL CHECK (allotment > 0),
    -- the activity's own stock, taken out of the SKU's stock when the sale is created
    remaining      bigint      NOT NULL,
    per_user_limit bigint      NOT NULL CHECK (per_user_limit > 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT flash_sales_remaining CHECK (remaining >= 0 AND remaining <= allotment)
);

-- Units each user holds or bought in a sale; the per-user limit is copied in so that the
-- constraint can enforce it without reading the hot flash_sales row.
CREATE TABLE flash_sale_buyers (
    sale_id        text   NOT NULL,
    user_id        text   NOT NULL,
    quantity       bigint NOT NULL,
    per_user_limit bigint NOT NULL,
    PRIMARY KEY (sale_id, user_id),
    CONSTRAINT flash_sale_buyers_limit CHECK (quantity >= 0 AND quantity <= per_user_limit)
);

CREATE TABLE stock_reservations (
    order_id      text        NOT NULL,
    sku_id        text        NOT NULL,
    flash_sale_id text,
    user_id       text        NOT NULL,
    quantity      bigint      NOT NULL CHECK (quantity > 0),
    state         text        NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'sold', 'released')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, sku_id)
);
CREATE INDEX stock_reservations_sale ON stock_reservations (flash_sale_id) WHERE flash_sale_id IS NOT NULL;

-- +goose Down
DROP TABLE stock_reservations;
DROP TABLE flash_sale_buyers;
DROP TABLE flash_sales;
