-- De-duplication keys become an append-only log (src/inbox/keys.rs): lookups go to a map in
-- memory loaded from this table, so the key needs no index, and a new key no longer rewrites a
-- random page of one at every commit. Later rows replace earlier ones for the same key.
CREATE TABLE inbox_keys (
    seq      INTEGER PRIMARY KEY,
    key      TEXT NOT NULL,
    inbox_id TEXT NOT NULL,
    until    INTEGER NOT NULL
);
-- For pruning; it grows with seq, since a key's expiry is its event's time plus the window.
CREATE INDEX inbox_keys_until ON inbox_keys (until);

INSERT INTO inbox_keys (key, inbox_id, until)
    SELECT key, inbox_id, until FROM inbox_dedup ORDER BY until;
DROP TABLE inbox_dedup;
