-- The generic transactional outbox of tide Events: a writer adds rows in the transaction that made
-- the change (outbox.Add); a relay (outbox.Relay) publishes pending rows to the events topic,
-- keyed with ingest.Key, and marks them sent; sent rows are pruned after a retention period.

-- +goose Up
CREATE TABLE event_outbox (
    id         bigserial PRIMARY KEY,
    event_id   text        NOT NULL,
    event_type text        NOT NULL,  -- ingest.TypeName, sent as the tide-event-type header
    key        bytea       NOT NULL,  -- the Kafka record key, ingest.Key of the event
    payload    bytea       NOT NULL,  -- the protobuf Event, published byte for byte
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
-- What the relay scans: pending rows in id order, and pending rows of one key (per-key order).
CREATE INDEX event_outbox_pending ON event_outbox (id) WHERE sent_at IS NULL;
CREATE INDEX event_outbox_pending_key ON event_outbox (key, id) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE event_outbox;
