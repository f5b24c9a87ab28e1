-- Placeholder so the runner has a first version; later migrations add tables.
CREATE TABLE IF NOT EXISTS mdebot_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
