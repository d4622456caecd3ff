-- +goose Up
-- The openid each user last logged in with (WeChat's id of the user in this
-- mini-program), for the server APIs that need it before the user has ever
-- paid, e.g. the risk rank at a first flash-sale order. Empty for accounts
-- from before this column, until their next Login.
ALTER TABLE auth_accounts ADD COLUMN openid text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE auth_accounts DROP COLUMN openid;
