-- A claimed delivery's lease is its next attempt time: claiming moves next_attempt_at to the
-- end of the lease, so in-flight deliveries leave the due index and the next due time is one
-- index lookup. Deliveries of disabled webhooks are 'paused' rather than 'pending', for the same
-- reason: the due index then holds only what may be sent.

UPDATE deliveries SET next_attempt_at = max(next_attempt_at, coalesce(lease_until, 0))
WHERE state = 'pending';
UPDATE deliveries SET state = 'paused'
WHERE state = 'pending' AND webhook_id IN (SELECT id FROM webhooks WHERE enabled = 0);
ALTER TABLE deliveries DROP COLUMN lease_until;
DROP INDEX deliveries_completed;
CREATE INDEX deliveries_completed ON deliveries (completed_at) WHERE state IN ('delivered', 'failed');
