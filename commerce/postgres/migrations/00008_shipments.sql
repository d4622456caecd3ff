-- Shipments and their upload to WeChat's shipping-info service (发货信息管理): Ship writes the
-- shipment in the transaction that marks the order shipped; the upload is an outbox row, claimed
-- by workers with FOR UPDATE SKIP LOCKED and retried with backoff until WeChat accepts it (state
-- uploaded) or refuses it for good (failed, with WeChat's answer, until the merchant ships again).
-- payer_openid is the openid an attempt was prepaid for: the upload names the payer.

-- +goose Up
ALTER TABLE payment_attempts ADD COLUMN payer_openid text NOT NULL DEFAULT '';

CREATE TABLE shipments (
    order_id         text PRIMARY KEY REFERENCES orders (id),
    logistics        text        NOT NULL CHECK (logistics IN ('express', 'virtual', 'self_pickup')),
    express_company  text        NOT NULL DEFAULT '',
    tracking_no      text        NOT NULL DEFAULT '',
    receiver_contact text        NOT NULL DEFAULT '',
    item_desc        text        NOT NULL,
    -- bumped by each ship of the order: an upload's outcome is written only to its generation
    generation       int         NOT NULL DEFAULT 1,
    shipped_at       timestamptz NOT NULL DEFAULT now(),
    upload_state     text        NOT NULL CHECK (upload_state IN ('pending', 'uploaded', 'failed', 'not_required')),
    upload_tries     int         NOT NULL DEFAULT 0,
    upload_error     text        NOT NULL DEFAULT '',
    next_upload_at   timestamptz NOT NULL DEFAULT now(),
    uploaded_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shipments_due ON shipments (next_upload_at) WHERE upload_state = 'pending';

-- +goose Down
DROP TABLE shipments;
ALTER TABLE payment_attempts DROP COLUMN payer_openid;
