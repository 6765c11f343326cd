-- What `vizhook receive` keeps: inbound events, their de-duplication keys (the unique key is
-- the truth across replicas), alert groups' state, and the tasks (actions) each event queued.

CREATE TABLE inbox (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL,
    dedup_key   TEXT NOT NULL,
    body        BYTEA NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX inbox_received ON inbox (received_at, id);

CREATE TABLE inbox_keys (
    key      TEXT PRIMARY KEY,
    inbox_id TEXT NOT NULL,
    until    BIGINT NOT NULL
);
CREATE INDEX inbox_keys_until ON inbox_keys (until);

CREATE TABLE alert_groups (
    receiver      TEXT NOT NULL,
    group_key     TEXT NOT NULL,
    firing        BOOLEAN NOT NULL,
    last_notified BIGINT,
    PRIMARY KEY (receiver, group_key)
);

CREATE TABLE inbox_tasks (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inbox_id        TEXT NOT NULL REFERENCES inbox (id) ON DELETE CASCADE,
    receiver        TEXT NOT NULL,
    notice          TEXT NOT NULL,
    spec            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT,
    group_key       TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
CREATE INDEX inbox_tasks_due ON inbox_tasks (next_attempt_at) WHERE state = 'pending';
CREATE INDEX inbox_tasks_inbox ON inbox_tasks (inbox_id);
CREATE INDEX inbox_tasks_group ON inbox_tasks (receiver, group_key)
    WHERE state = 'pending' AND notice = 'firing' AND group_key <> '';
