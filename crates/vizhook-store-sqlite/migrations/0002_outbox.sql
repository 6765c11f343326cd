-- The outbox: events, one delivery per event and subscribed webhook, every attempt, and the
-- notices written when a webhook is disabled for failing. Times are Unix milliseconds.

ALTER TABLE webhooks ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
-- A Standard Webhooks secret (whsec_...). It must be usable to sign, so it cannot be hashed;
-- it is never returned by a read API nor logged.
ALTER TABLE webhooks ADD COLUMN signing_secret TEXT;

CREATE TABLE events (
    id            TEXT PRIMARY KEY NOT NULL,
    site_id       TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    resource      TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    resource_luid TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    payload       TEXT NOT NULL
);
CREATE INDEX events_created_at ON events (created_at);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    site_id         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    round_attempts  INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    completed_at    INTEGER
);
-- Only pending deliveries are ever claimed; the partial index keeps finished ones out of it.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, created_at);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_completed ON deliveries (completed_at) WHERE state <> 'pending';

CREATE TABLE attempts (
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    latency_ms       INTEGER NOT NULL,
    status           INTEGER,
    error            TEXT,
    response_excerpt TEXT,
    PRIMARY KEY (delivery_id, number)
) WITHOUT ROWID;

CREATE TABLE notices (
    id             TEXT PRIMARY KEY NOT NULL,
    site_id        TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    webhook_id     TEXT NOT NULL,
    webhook_name   TEXT NOT NULL,
    message        TEXT NOT NULL,
    recipient      TEXT,
    email_state    TEXT NOT NULL,
    email_attempts INTEGER NOT NULL DEFAULT 0,
    email_error    TEXT,
    created_at     INTEGER NOT NULL,
    sent_at        INTEGER
);
CREATE INDEX notices_pending ON notices (created_at) WHERE email_state = 'pending';
CREATE INDEX notices_site ON notices (site_id, created_at);
