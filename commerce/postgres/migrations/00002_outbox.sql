-- Transactional outbox: one row per product change, written in the transaction that made the
-- change, published to Kafka by commerce's own relay and then marked sent. Superseded: product
-- changes now go to the shared outbox (ingest/outbox, event_outbox), and Store.Migrate moves
-- rows still pending here into it and drops this table (changes.go, moveLegacyOutbox).

-- +goose Up
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    product_id  text        NOT NULL,
    merchant_id text        NOT NULL,
    change      text        NOT NULL CHECK (change IN ('created', 'updated', 'deleted')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
-- What the relay scans: pending rows in id order, and pending rows of one product. (Pruning
-- sent rows scans the table hourly; an index on sent_at would tax every product write.)
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_pending_product ON outbox (product_id, id) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE outbox;
