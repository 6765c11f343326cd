-- A task remembers its alert group, so that a recovery can supersede the group's firing tasks
-- still waiting to be sent: without it, a "failed" message being retried could arrive after
-- the "recovered" one. Tasks queued before this migration have no group ('') and are never
-- superseded.
ALTER TABLE inbox_tasks ADD COLUMN group_key TEXT NOT NULL DEFAULT '';
CREATE INDEX inbox_tasks_group ON inbox_tasks (receiver, group_key)
    WHERE state = 'pending' AND notice = 'firing' AND group_key <> '';
