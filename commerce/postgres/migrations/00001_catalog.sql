-- Catalog: merchants, products (SPU) and their SKUs.

-- +goose Up
CREATE TABLE merchants (
    id         text PRIMARY KEY,
    name       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id           text PRIMARY KEY,
    merchant_id  text        NOT NULL REFERENCES merchants (id),
    title        text        NOT NULL,
    brand        text        NOT NULL DEFAULT '',
    category     text        NOT NULL DEFAULT '',
    description  text        NOT NULL DEFAULT '',
    images       jsonb       NOT NULL DEFAULT '[]',
    attrs        jsonb       NOT NULL DEFAULT '{}',
    status       text        NOT NULL DEFAULT 'on' CHECK (status IN ('on', 'off')),
    price_fen    bigint      NOT NULL CHECK (price_fen >= 0),
    sales        bigint      NOT NULL DEFAULT 0 CHECK (sales >= 0),
    listed_at    timestamptz, -- when it went on sale, as imported; NULL: created_at
    -- sha256 of everything a shopper or the search index sees (commerce.Product.ContentHash):
    -- an import that would not change it writes nothing and publishes nothing.
    content_hash bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_merchant ON products (merchant_id, id);

CREATE TABLE skus (
    id         text PRIMARY KEY,
    product_id text        NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    spec       jsonb       NOT NULL DEFAULT '{}',
    price_fen  bigint      NOT NULL CHECK (price_fen >= 0),
    stock      bigint      NOT NULL DEFAULT 0 CHECK (stock >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX skus_product ON skus (product_id, id);

-- +goose Down
DROP TABLE skus;
DROP TABLE products;
DROP TABLE merchants;
