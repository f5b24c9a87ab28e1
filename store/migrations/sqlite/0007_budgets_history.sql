-- Named budgets for the shared limiter (getPackageUri, runliveresponse), the
-- user each queued key is served for (round-robin fair use), and indexes
-- that keep the frequent queries flat as history grows.

-- SQLite cannot change a primary key: rebuild both limiter tables, keeping
-- what they hold (the last hour's calls still count) as getPackageUri's.
CREATE TABLE limiter_calls_v7 (
	budget TEXT NOT NULL,
	at     BIGINT NOT NULL,
	key    TEXT NOT NULL
);
INSERT INTO limiter_calls_v7 (budget, at, key) SELECT 'getPackageUri', at, key FROM limiter_calls;
DROP TABLE limiter_calls;
ALTER TABLE limiter_calls_v7 RENAME TO limiter_calls;
CREATE INDEX limiter_calls_budget_at ON limiter_calls (budget, at);

-- requester is '' for a key queued before this migration until its next
-- Take; serve_round is the key's round (mde.JoinRound), fixed at joining.
CREATE TABLE limiter_queue_v7 (
	budget      TEXT NOT NULL,
	key         TEXT NOT NULL,
	requester   TEXT NOT NULL DEFAULT '',
	serve_round BIGINT NOT NULL DEFAULT 0,
	joined_at   BIGINT NOT NULL,
	seen_at     BIGINT NOT NULL,
	seq         BIGINT NOT NULL,
	PRIMARY KEY (budget, key)
);
INSERT INTO limiter_queue_v7 (budget, key, joined_at, seen_at, seq)
	SELECT 'getPackageUri', key, joined_at, seen_at, seq FROM limiter_queue;
DROP TABLE limiter_queue;
ALTER TABLE limiter_queue_v7 RENAME TO limiter_queue;

-- policy.max_pending_per_user (CountPending: one seek per active state).
CREATE INDEX requests_requester_state ON requests (team, requester, state);
-- A user's latest requests (App Home), newest first, without a sort.
CREATE INDEX requests_requester_created ON requests (team, requester, created_at, id);
-- Untold outcomes (told_at = 0) and retention (told before a date): state
-- first, so both are seeks on equality then a told_at range.
CREATE INDEX requests_state_told ON requests (state, told_at);
-- The audit export pages by (at, id).
DROP INDEX audit_events_at;
CREATE INDEX audit_events_at_id ON audit_events (at, id);
