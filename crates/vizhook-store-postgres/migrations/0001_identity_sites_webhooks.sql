-- Sites, accounts and their memberships, personal access tokens, sessions and webhooks.
-- Times are Unix milliseconds (BIGINT), ids are the domain's UUIDs as text, as in the SQLite
-- schema, so both backends read and write the same values. A unique index is named after what
-- it makes unique, in the form SQLite reports a violation (`table.column, table.column`), so
-- both backends name a conflict alike (`StoreError::is_conflict_on`).

CREATE TABLE sites (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    content_url TEXT NOT NULL,
    admin_mode  TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX "sites.content_url" ON sites (lower(content_url));
CREATE UNIQUE INDEX "sites.name" ON sites (lower(name));

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    password_hash TEXT,
    server_admin  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX "accounts.name" ON accounts (lower(name));

CREATE TABLE site_users (
    id           TEXT PRIMARY KEY,
    site_id      TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    site_role    TEXT NOT NULL,
    full_name    TEXT,
    email        TEXT,
    auth_setting TEXT NOT NULL,
    last_login   BIGINT,
    created_at   BIGINT NOT NULL,
    CONSTRAINT "site_users.site_id, site_users.account_id" UNIQUE (site_id, account_id)
);
CREATE INDEX site_users_account ON site_users (account_id);

CREATE TABLE access_tokens (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    CONSTRAINT "access_tokens.account_id, access_tokens.name" UNIQUE (account_id, name)
);
CREATE INDEX access_tokens_name ON access_tokens (name);

CREATE TABLE sessions (
    token_hash   BYTEA PRIMARY KEY,
    site_user_id TEXT NOT NULL REFERENCES site_users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_site_user ON sessions (site_user_id);

CREATE TABLE webhooks (
    id                   TEXT PRIMARY KEY,
    site_id              TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    event                TEXT NOT NULL,
    url                  TEXT NOT NULL,
    enabled              BOOLEAN NOT NULL,
    status_change_reason TEXT NOT NULL,
    owner_id             TEXT NOT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    signing_secret       TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX webhooks_site_event ON webhooks (site_id, event);
