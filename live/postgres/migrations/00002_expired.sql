-- A scheduled session (预告) whose window passes without a push expires
-- (WeChat's 107 已过期): a new state, written by the registry's periodic job.

-- +goose Up
ALTER TABLE live_sessions DROP CONSTRAINT live_sessions_state_check;
ALTER TABLE live_sessions ADD CONSTRAINT live_sessions_state_check CHECK (state IN
    ('scheduled', 'live', 'paused', 'ended', 'replay_ready', 'banned', 'cancelled', 'expired'));

-- +goose Down
UPDATE live_sessions SET state = 'cancelled' WHERE state = 'expired';
ALTER TABLE live_sessions DROP CONSTRAINT live_sessions_state_check;
ALTER TABLE live_sessions ADD CONSTRAINT live_sessions_state_check CHECK (state IN
    ('scheduled', 'live', 'paused', 'ended', 'replay_ready', 'banned', 'cancelled'));
