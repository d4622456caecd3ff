-- +goose Up
-- When tide first saw each mini-program user (their first Login): the
-- account's creation time the anti-fraud rules read (acct_created).
CREATE TABLE auth_accounts (
    user_id    text        PRIMARY KEY,
    first_seen timestamptz NOT NULL
);

-- +goose Down
DROP TABLE auth_accounts;
