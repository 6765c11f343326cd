-- Site content: projects, data sources, workbooks and their views, connections, refresh jobs
-- and data labels. Times are Unix milliseconds.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY NOT NULL,
    site_id     TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    parent_id   TEXT,
    owner_id    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX projects_site ON projects (site_id, name);

CREATE TABLE datasources (
    id                 TEXT PRIMARY KEY NOT NULL,
    site_id            TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    project_id         TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    owner_id           TEXT NOT NULL,
    name               TEXT NOT NULL,
    content_url        TEXT NOT NULL,
    file_type          TEXT NOT NULL,
    description        TEXT NOT NULL,
    is_certified       INTEGER NOT NULL,
    certification_note TEXT NOT NULL,
    has_extracts       INTEGER NOT NULL,
    size               INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX datasources_site ON datasources (site_id, name);

CREATE TABLE workbooks (
    id          TEXT PRIMARY KEY NOT NULL,
    site_id     TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    owner_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    content_url TEXT NOT NULL,
    description TEXT NOT NULL,
    show_tabs   INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX workbooks_site ON workbooks (site_id, name);

CREATE TABLE views (
    id          TEXT PRIMARY KEY NOT NULL,
    site_id     TEXT NOT NULL,
    workbook_id TEXT NOT NULL REFERENCES workbooks (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    content_url TEXT NOT NULL,
    position    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX views_workbook ON views (workbook_id, position);
CREATE INDEX views_site ON views (site_id);

-- Exactly one of datasource_id and workbook_id is set. The embedded password is kept as given
-- because a refresh must use it; the API never returns it.
CREATE TABLE connections (
    id             TEXT PRIMARY KEY NOT NULL,
    site_id        TEXT NOT NULL,
    datasource_id  TEXT REFERENCES datasources (id) ON DELETE CASCADE,
    workbook_id    TEXT REFERENCES workbooks (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    class          TEXT NOT NULL,
    server         TEXT NOT NULL,
    port           TEXT NOT NULL,
    dbname         TEXT NOT NULL,
    username       TEXT NOT NULL,
    password       TEXT,
    embed_password INTEGER NOT NULL
);
CREATE INDEX connections_datasource ON connections (datasource_id);
CREATE INDEX connections_workbook ON connections (workbook_id);

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY NOT NULL,
    site_id      TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    target_name  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    completed_at INTEGER,
    progress     INTEGER NOT NULL,
    finish_code  INTEGER,
    notes        TEXT NOT NULL
);
CREATE INDEX jobs_unfinished ON jobs (target_id) WHERE completed_at IS NULL;

CREATE TABLE labels (
    id          TEXT PRIMARY KEY NOT NULL,
    site_id     TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    target_name TEXT NOT NULL,
    value       TEXT NOT NULL,
    category    TEXT NOT NULL,
    message     TEXT NOT NULL,
    active      INTEGER NOT NULL,
    elevated    INTEGER NOT NULL,
    author_id   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (target_id, value)
);
CREATE INDEX labels_site ON labels (site_id, target_id);
