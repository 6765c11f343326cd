-- Events, their deliveries and attempts, and the notices written when a webhook is disabled.
-- A pending delivery's next_attempt_at is also its lease: a claim moves it to the lease's end,
-- so a delivery whose claimer died is due again when its lease runs out, on any node.

CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    site_id       TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    resource      TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    resource_luid TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    payload       TEXT NOT NULL
);
CREATE INDEX events_created_at ON events (created_at);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    site_id         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    round_attempts  INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    completed_at    BIGINT
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, created_at);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_completed ON deliveries (completed_at) WHERE state IN ('delivered', 'failed');

CREATE TABLE attempts (
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    started_at       BIGINT NOT NULL,
    latency_ms       BIGINT NOT NULL,
    status           INTEGER,
    error            TEXT,
    response_excerpt TEXT,
    PRIMARY KEY (delivery_id, number)
);

CREATE TABLE notices (
    id             TEXT PRIMARY KEY,
    site_id        TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    webhook_id     TEXT NOT NULL,
    webhook_name   TEXT NOT NULL,
    message        TEXT NOT NULL,
    recipient      TEXT,
    email_state    TEXT NOT NULL,
    email_attempts INTEGER NOT NULL DEFAULT 0,
    email_error    TEXT,
    created_at     BIGINT NOT NULL,
    sent_at        BIGINT,
    -- Until when one node's notice worker holds a pending notice (database clock, Unix ms):
    -- no other node emails it meanwhile. NULL when no one does.
    lease_until    BIGINT
);
CREATE INDEX notices_pending ON notices (created_at) WHERE email_state = 'pending';
CREATE INDEX notices_site ON notices (site_id, created_at);
