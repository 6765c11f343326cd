-- What `vizhook receive` keeps: inbound events, their de-duplication keys (the unique key is
-- the truth across replicas), alert groups' state, and the tasks (actions) each event queued.
-- Keys and groups compare by bytes (COLLATE "C"): receives and pruning lock their rows in that
-- order (src/inbox/), and byte order is also what SQLite's ordering of ids is.

CREATE TABLE inbox (
    id          TEXT COLLATE "C" NOT NULL,
    source      TEXT NOT NULL,
    dedup_key   TEXT NOT NULL,
    body        BYTEA NOT NULL,
    received_at BIGINT NOT NULL,
    CONSTRAINT "inbox.id" PRIMARY KEY (id)
);
-- Newest first for the inbox view, oldest first for retention.
CREATE INDEX inbox_received ON inbox (received_at, id);

-- Who holds a key, and until when. Not a foreign key: a key outlives its event when the event
-- is pruned before the key expires, and a repeat is still a duplicate.
CREATE TABLE inbox_keys (
    key      TEXT COLLATE "C" PRIMARY KEY,
    inbox_id TEXT NOT NULL,
    until    BIGINT NOT NULL
);
CREATE INDEX inbox_keys_until ON inbox_keys (until);

-- One row per (receiver, group); the input and output of vizhook_core::notify::decide.
CREATE TABLE alert_groups (
    receiver      TEXT COLLATE "C" NOT NULL,
    group_key     TEXT COLLATE "C" NOT NULL,
    firing        BOOLEAN NOT NULL,
    last_notified BIGINT,
    PRIMARY KEY (receiver, group_key)
);

-- A task's lease is its next attempt time, as for deliveries: claiming moves next_attempt_at
-- to the lease's end, so the due index holds exactly what may be claimed or falls due when a
-- lease runs out. Finished tasks ('done', 'failed', 'superseded') have no next attempt. A task
-- remembers its alert group, so that a recovery can supersede the group's firing tasks still
-- waiting to be sent ('' for none).
CREATE TABLE inbox_tasks (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inbox_id        TEXT COLLATE "C" NOT NULL REFERENCES inbox (id) ON DELETE CASCADE,
    receiver        TEXT COLLATE "C" NOT NULL,
    notice          TEXT NOT NULL,
    spec            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT,
    group_key       TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
CREATE INDEX inbox_tasks_due ON inbox_tasks (next_attempt_at) WHERE state = 'pending';
CREATE INDEX inbox_tasks_inbox ON inbox_tasks (inbox_id);
CREATE INDEX inbox_tasks_group ON inbox_tasks (receiver, group_key)
    WHERE state = 'pending' AND notice = 'firing' AND group_key <> '';
