-- A notice no longer references its site by a foreign key. The key made writing a notice
-- take a share lock on the site's row while the recording transaction already held the
-- webhook's row, the opposite order to deleting a site (site row, then its webhooks by
-- cascade), so the two could deadlock. Deleting a site now deletes its notices itself
-- (src/sites/site.rs), after the cascade, so none is left behind.
ALTER TABLE notices DROP CONSTRAINT notices_site_id_fkey;
