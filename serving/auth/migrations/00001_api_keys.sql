-- +goose Up
-- API keys of merchants and admins. Only the SHA-256 of a key is stored.
CREATE TABLE auth_api_keys (
    id          text        PRIMARY KEY,
    key_hash    bytea       NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    role        text        NOT NULL CHECK (role IN ('merchant', 'admin')),
    merchant_id text        NOT NULL DEFAULT '',
    name        text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK ((role = 'merchant') = (merchant_id <> ''))
);
CREATE INDEX auth_api_keys_merchant ON auth_api_keys (merchant_id) WHERE revoked_at IS NULL;

-- +goose Down
DROP TABLE auth_api_keys;
