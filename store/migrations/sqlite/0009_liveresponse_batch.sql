-- Live response files and collections on several devices.

-- The file a live response GetFile fetches (getfile, or a get of a
-- LiveResponse action); '' for investigation packages.
ALTER TABLE requests ADD COLUMN path TEXT NOT NULL DEFAULT '';
-- The requests of one collect on several devices share a batch id ('' for a
-- request on its own): one confirmation, one channel card.
ALTER TABLE requests ADD COLUMN batch_id TEXT NOT NULL DEFAULT '';
CREATE INDEX requests_batch ON requests (batch_id) WHERE batch_id <> '';
