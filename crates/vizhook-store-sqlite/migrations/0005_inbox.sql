-- The receiver's inbox (`vizhook receive`): accepted events, their de-duplication keys, the
-- state of each receiver's alert groups, and the action tasks that notify receivers.
-- Times are Unix milliseconds.

CREATE TABLE inbox (
    id          TEXT PRIMARY KEY NOT NULL,
    source      TEXT NOT NULL,
    dedup_key   TEXT NOT NULL,
    body        BLOB NOT NULL,
    received_at INTEGER NOT NULL
);
-- Newest first for the inbox view, oldest first for retention.
CREATE INDEX inbox_received ON inbox (received_at, id);

-- Who holds a key, and until when. Not a foreign key: a key outlives its event when the event is
-- pruned before the key expires, and a repeat is still a duplicate.
CREATE TABLE inbox_dedup (
    key      TEXT PRIMARY KEY NOT NULL,
    inbox_id TEXT NOT NULL,
    until    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX inbox_dedup_until ON inbox_dedup (until);

-- One row per (receiver, group); the input and output of vizhook_core::notify::decide.
CREATE TABLE alert_groups (
    receiver      TEXT NOT NULL,
    group_key     TEXT NOT NULL,
    firing        INTEGER NOT NULL,
    last_notified INTEGER,
    PRIMARY KEY (receiver, group_key)
) WITHOUT ROWID;

-- A task's lease is its next attempt time, as for deliveries (0004): claiming moves
-- next_attempt_at to the lease's end, so the due index holds exactly what may be claimed or
-- falls due when a lease runs out. Finished tasks ('done', 'failed') have no next attempt.
-- AUTOINCREMENT: an id is never reused, so a late record cannot touch a newer task.
CREATE TABLE inbox_tasks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox_id        TEXT NOT NULL REFERENCES inbox (id) ON DELETE CASCADE,
    receiver        TEXT NOT NULL,
    notice          TEXT NOT NULL,
    spec            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX inbox_tasks_due ON inbox_tasks (next_attempt_at) WHERE state = 'pending';
CREATE INDEX inbox_tasks_inbox ON inbox_tasks (inbox_id);
