-- The uniqueness the API promises, enforced by the database, so that two concurrent requests
-- cannot both pass the API's check: a data source or workbook name is unique in its project,
-- its content URL in its site,
-- a project name among its siblings, a label value on its asset (regardless of case, as the
-- API compares them), and a data source or workbook has at most one refresh job that has not
-- finished. A violation is a conflict that the API answers with 409.
--
-- Duplicates that concurrent requests could create before this migration are kept, not
-- deleted: every row but the oldest of a name gets its id appended to its name (of a content
-- URL, its rowid appended to its content URL), and every
-- unfinished job but the oldest of a target is finished as cancelled.

UPDATE datasources SET name = name || ' (' || id || ')'
WHERE rowid NOT IN (SELECT MIN(rowid) FROM datasources GROUP BY project_id, name COLLATE NOCASE);
CREATE UNIQUE INDEX datasources_project_name ON datasources (project_id, name COLLATE NOCASE);

UPDATE datasources SET content_url = content_url || '_' || rowid
WHERE rowid NOT IN (SELECT MIN(rowid) FROM datasources GROUP BY site_id, content_url COLLATE NOCASE);
CREATE UNIQUE INDEX datasources_site_content_url ON datasources (site_id, content_url COLLATE NOCASE);

UPDATE workbooks SET name = name || ' (' || id || ')'
WHERE rowid NOT IN (SELECT MIN(rowid) FROM workbooks GROUP BY project_id, name COLLATE NOCASE);
CREATE UNIQUE INDEX workbooks_project_name ON workbooks (project_id, name COLLATE NOCASE);

UPDATE workbooks SET content_url = content_url || '_' || rowid
WHERE rowid NOT IN (SELECT MIN(rowid) FROM workbooks GROUP BY site_id, content_url COLLATE NOCASE);
CREATE UNIQUE INDEX workbooks_site_content_url ON workbooks (site_id, content_url COLLATE NOCASE);

UPDATE projects SET name = name || ' (' || id || ')'
WHERE rowid NOT IN (
    SELECT MIN(rowid) FROM projects GROUP BY site_id, COALESCE(parent_id, ''), name COLLATE NOCASE
);
CREATE UNIQUE INDEX projects_sibling_name
    ON projects (site_id, COALESCE(parent_id, ''), name COLLATE NOCASE);

UPDATE labels SET value = value || ' (' || id || ')'
WHERE rowid NOT IN (SELECT MIN(rowid) FROM labels GROUP BY target_id, value COLLATE NOCASE);
CREATE UNIQUE INDEX labels_target_value ON labels (target_id, value COLLATE NOCASE);

UPDATE jobs SET completed_at = created_at, finish_code = 2,
    notes = 'Cancelled: another refresh of the same content was already running.'
WHERE completed_at IS NULL
  AND rowid NOT IN (SELECT MIN(rowid) FROM jobs WHERE completed_at IS NULL GROUP BY target_id);
DROP INDEX jobs_unfinished;
CREATE UNIQUE INDEX jobs_unfinished ON jobs (target_id) WHERE completed_at IS NULL;
