-- Projects, data sources, workbooks, views, connections, jobs and labels. Names are unique
-- case-insensitively, as in SQLite (`COLLATE NOCASE` there, `lower()` here).

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    site_id     TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    parent_id   TEXT,
    owner_id    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX projects_site ON projects (site_id, name);
CREATE UNIQUE INDEX projects_sibling_name
    ON projects (site_id, COALESCE(parent_id, ''), lower(name));

CREATE TABLE datasources (
    id                 TEXT PRIMARY KEY,
    site_id            TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    project_id         TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    owner_id           TEXT NOT NULL,
    name               TEXT NOT NULL,
    content_url        TEXT NOT NULL,
    file_type          TEXT NOT NULL,
    description        TEXT NOT NULL,
    is_certified       BOOLEAN NOT NULL,
    certification_note TEXT NOT NULL,
    has_extracts       BOOLEAN NOT NULL,
    size               BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX datasources_site ON datasources (site_id, name);
CREATE UNIQUE INDEX "datasources.project_id, datasources.name"
    ON datasources (project_id, lower(name));
CREATE UNIQUE INDEX "datasources.site_id, datasources.content_url"
    ON datasources (site_id, lower(content_url));

CREATE TABLE workbooks (
    id          TEXT PRIMARY KEY,
    site_id     TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    owner_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    content_url TEXT NOT NULL,
    description TEXT NOT NULL,
    show_tabs   BOOLEAN NOT NULL,
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX workbooks_site ON workbooks (site_id, name);
CREATE UNIQUE INDEX "workbooks.project_id, workbooks.name" ON workbooks (project_id, lower(name));
CREATE UNIQUE INDEX "workbooks.site_id, workbooks.content_url"
    ON workbooks (site_id, lower(content_url));

CREATE TABLE views (
    id          TEXT PRIMARY KEY,
    site_id     TEXT NOT NULL,
    workbook_id TEXT NOT NULL REFERENCES workbooks (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    content_url TEXT NOT NULL,
    position    INTEGER NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX views_workbook ON views (workbook_id, position);
CREATE INDEX views_site ON views (site_id);

CREATE TABLE connections (
    id             TEXT PRIMARY KEY,
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
    embed_password BOOLEAN NOT NULL
);
CREATE INDEX connections_datasource ON connections (datasource_id);
CREATE INDEX connections_workbook ON connections (workbook_id);

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    site_id      TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    target_name  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    completed_at BIGINT,
    progress     INTEGER NOT NULL,
    finish_code  INTEGER,
    notes        TEXT NOT NULL
);
-- One unfinished job per target.
CREATE UNIQUE INDEX "jobs.target_id" ON jobs (target_id) WHERE completed_at IS NULL;
-- For the cascade when a site is deleted (PostgreSQL does not index a foreign key by itself).
CREATE INDEX jobs_site ON jobs (site_id);

CREATE TABLE labels (
    id          TEXT PRIMARY KEY,
    site_id     TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    target_name TEXT NOT NULL,
    value       TEXT NOT NULL,
    category    TEXT NOT NULL,
    message     TEXT NOT NULL,
    active      BOOLEAN NOT NULL,
    elevated    BOOLEAN NOT NULL,
    author_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX labels_site ON labels (site_id, target_id);
CREATE UNIQUE INDEX "labels.target_id, labels.value" ON labels (target_id, lower(value));
