-- The decision window a pending request was given (approval.expires_after, or
-- the confirmation TTL), in milliseconds, so an expiry states the window that
-- was configured when the request was made.
ALTER TABLE requests ADD COLUMN expires_after BIGINT NOT NULL DEFAULT 0;

-- Who ended the request by a decision (the approver who denied it), so the
-- stored detail stays plain words and messages still mention the person.
ALTER TABLE requests ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';

-- Signed Slack requests and Socket Mode envelopes already acted on, so a
-- replay within Slack's 5-minute window does nothing (every replica shares
-- this table). key is a hash, never the signature itself.
CREATE TABLE replay_keys (
	key        TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX replay_keys_expires_at ON replay_keys (expires_at);

-- Defender's times of the request's machine action (unix ms), for the
-- package's custody record.
ALTER TABLE requests ADD COLUMN action_created BIGINT NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN action_updated BIGINT NOT NULL DEFAULT 0;
