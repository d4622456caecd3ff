-- The room registry: rooms, their sessions and every session transition, shelves, replays,
-- moderation reviews, and the stream signals already applied (idempotency).

-- +goose Up
CREATE TABLE live_rooms (
    id          text PRIMARY KEY,
    merchant_id text        NOT NULL,
    title       text        NOT NULL,
    cover_url   text        NOT NULL DEFAULT '',
    category    text        NOT NULL DEFAULT '',
    anchor_name text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX live_rooms_merchant ON live_rooms (merchant_id, id);

CREATE TABLE live_sessions (
    id              text PRIMARY KEY,
    room_id         text        NOT NULL REFERENCES live_rooms (id),
    merchant_id     text        NOT NULL,
    scheduled_start timestamptz NOT NULL,
    scheduled_end   timestamptz NOT NULL,
    started_at      timestamptz,
    ended_at        timestamptz,
    state           text        NOT NULL CHECK (state IN
                    ('scheduled', 'live', 'paused', 'ended', 'replay_ready', 'banned', 'cancelled')),
    provider        text        NOT NULL,
    stream          text        NOT NULL UNIQUE,
    sequence        text        NOT NULL DEFAULT '', -- the provider's id of the push on air
    paused_at       timestamptz,
    ban_reason      text        NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (scheduled_end > scheduled_start)
);
CREATE INDEX live_sessions_room ON live_sessions (room_id, scheduled_start);
CREATE INDEX live_sessions_active ON live_sessions (state, scheduled_start)
    WHERE state IN ('scheduled', 'live', 'paused');

CREATE TABLE live_session_transitions (
    id          bigserial PRIMARY KEY,
    session_id  text        NOT NULL REFERENCES live_sessions (id),
    from_state  text        NOT NULL,
    to_state    text        NOT NULL,
    trigger     text        NOT NULL,
    reason      text        NOT NULL DEFAULT '',
    signal_id   text        NOT NULL DEFAULT '', -- the provider callback that caused it, if any
    at          timestamptz NOT NULL
);
CREATE INDEX live_session_transitions_session ON live_session_transitions (session_id, id);

CREATE TABLE live_shelf_lines (
    room_id    text    NOT NULL REFERENCES live_rooms (id),
    product_id text    NOT NULL,
    position   int     NOT NULL,
    explaining boolean NOT NULL DEFAULT false,
    PRIMARY KEY (room_id, product_id)
);
-- At most one product of a room is being explained (讲解中).
CREATE UNIQUE INDEX live_shelf_one_explaining ON live_shelf_lines (room_id) WHERE explaining;

CREATE TABLE live_replays (
    session_id  text        NOT NULL REFERENCES live_sessions (id),
    url         text        NOT NULL,
    duration_ms bigint      NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, url)
);

CREATE TABLE live_reviews (
    id          bigserial PRIMARY KEY,
    session_id  text             NOT NULL REFERENCES live_sessions (id),
    room_id     text             NOT NULL,
    provider    text             NOT NULL,
    label       text             NOT NULL DEFAULT '',
    score       double precision NOT NULL DEFAULT 0,
    at          timestamptz      NOT NULL,
    resolved_at timestamptz
);
CREATE INDEX live_reviews_open ON live_reviews (id) WHERE resolved_at IS NULL;

-- Signals applied, by provider and callback id: a retried callback gets the first answer.
CREATE TABLE live_applied_signals (
    provider   text        NOT NULL,
    id         text        NOT NULL,
    kind       text        NOT NULL,
    stream     text        NOT NULL,
    sequence   text        NOT NULL DEFAULT '',
    allow      boolean     NOT NULL,
    reason     text        NOT NULL DEFAULT '',
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, id)
);
CREATE INDEX live_applied_signals_push ON live_applied_signals (stream, sequence, kind);

-- +goose Down
DROP TABLE live_applied_signals;
DROP TABLE live_reviews;
DROP TABLE live_replays;
DROP TABLE live_shelf_lines;
DROP TABLE live_session_transitions;
DROP TABLE live_sessions;
DROP TABLE live_rooms;
