-- What the requester typed (an action ID, or a device ID or host name), kept
-- from the acknowledgement on so a crash before the checks loses no request.
ALTER TABLE requests ADD COLUMN target TEXT NOT NULL DEFAULT '';
