-- Requests, approval decisions, the audit trail and the shared getPackageUri
-- limiter. Times are unix milliseconds (0 = unset); lists are JSON text.

CREATE TABLE requests (
	id                 TEXT PRIMARY KEY,
	team               TEXT NOT NULL,
	channel            TEXT NOT NULL,
	channel_name       TEXT NOT NULL DEFAULT '',
	requester          TEXT NOT NULL,
	kind               TEXT NOT NULL,
	action_id          TEXT NOT NULL DEFAULT '',
	machine_id         TEXT NOT NULL DEFAULT '',
	machine_name       TEXT NOT NULL DEFAULT '',
	comment            TEXT NOT NULL DEFAULT '',
	delivery           TEXT NOT NULL DEFAULT '',
	response_url       TEXT NOT NULL DEFAULT '',
	state              TEXT NOT NULL,
	detail             TEXT NOT NULL DEFAULT '',
	last_status        TEXT NOT NULL DEFAULT '',
	message_ts         TEXT NOT NULL DEFAULT '',
	required_approvals INTEGER NOT NULL DEFAULT 0,
	approvers          TEXT NOT NULL DEFAULT '[]',
	expires_at         BIGINT NOT NULL DEFAULT 0,
	wait_deadline      BIGINT NOT NULL DEFAULT 0,
	polls              INTEGER NOT NULL DEFAULT 0,
	queue_position     INTEGER NOT NULL DEFAULT 0,
	lease_owner        TEXT NOT NULL DEFAULT '',
	lease_until        BIGINT NOT NULL DEFAULT 0,
	sha256             TEXT NOT NULL DEFAULT '',
	bytes              BIGINT NOT NULL DEFAULT 0,
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL DEFAULT 0,
	told_at            BIGINT NOT NULL DEFAULT 0,
	version            BIGINT NOT NULL
);
CREATE INDEX requests_action_state ON requests (action_id, state);
CREATE INDEX requests_state_created ON requests (state, created_at);

CREATE TABLE decisions (
	request_id TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
	approver   TEXT NOT NULL,
	approve    INTEGER NOT NULL CHECK (approve IN (0, 1)),
	at         BIGINT NOT NULL,
	PRIMARY KEY (request_id, approver)
);

CREATE TABLE audit_events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	at         BIGINT NOT NULL,
	request_id TEXT NOT NULL DEFAULT '',
	team       TEXT NOT NULL DEFAULT '',
	channel    TEXT NOT NULL DEFAULT '',
	actor      TEXT NOT NULL DEFAULT '',
	event      TEXT NOT NULL,
	outcome    TEXT NOT NULL DEFAULT '',
	action_id  TEXT NOT NULL DEFAULT '',
	machine_id TEXT NOT NULL DEFAULT '',
	sha256     TEXT NOT NULL DEFAULT '',
	bytes      BIGINT NOT NULL DEFAULT 0,
	detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events (at);

-- getPackageUri calls granted in the last hour (for every replica).
CREATE TABLE limiter_calls (
	at  BIGINT NOT NULL,
	key TEXT NOT NULL
);
CREATE INDEX limiter_calls_at ON limiter_calls (at);

-- Keys waiting for a call, first come first served (joined_at, then seq).
CREATE TABLE limiter_queue (
	key       TEXT PRIMARY KEY,
	joined_at BIGINT NOT NULL,
	seen_at   BIGINT NOT NULL,
	seq       BIGINT NOT NULL
);
