-- Sites, accounts and their memberships, access tokens, sessions and webhooks.
-- Times are Unix milliseconds (UTC); ids are lower-case hyphenated UUIDs.

CREATE TABLE sites (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    content_url TEXT NOT NULL,
    admin_mode  TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX sites_content_url ON sites (content_url COLLATE NOCASE);
CREATE UNIQUE INDEX sites_name ON sites (name COLLATE NOCASE);

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT,
    server_admin  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX accounts_name ON accounts (name COLLATE NOCASE);

CREATE TABLE site_users (
    id           TEXT PRIMARY KEY NOT NULL,
    site_id      TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    site_role    TEXT NOT NULL,
    full_name    TEXT,
    email        TEXT,
    auth_setting TEXT NOT NULL,
    last_login   INTEGER,
    created_at   INTEGER NOT NULL,
    UNIQUE (site_id, account_id)
);

CREATE TABLE access_tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (account_id, name)
);
CREATE INDEX access_tokens_name ON access_tokens (name);

CREATE TABLE sessions (
    token_hash   BLOB PRIMARY KEY NOT NULL,
    site_user_id TEXT NOT NULL REFERENCES site_users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- owner_id is not a foreign key: a webhook outlives its owner's membership, as content does.
CREATE TABLE webhooks (
    id                   TEXT PRIMARY KEY NOT NULL,
    site_id              TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    event                TEXT NOT NULL,
    url                  TEXT NOT NULL,
    enabled              INTEGER NOT NULL,
    status_change_reason TEXT NOT NULL,
    owner_id             TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX webhooks_site_event ON webhooks (site_id, event);
