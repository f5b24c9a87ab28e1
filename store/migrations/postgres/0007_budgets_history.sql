-- Named budgets for the shared limiter (getPackageUri, runliveresponse), the
-- user each queued key is served for (round-robin fair use), and indexes
-- that keep the frequent queries flat as history grows.

-- What the tables hold (the last hour's calls still count) is getPackageUri's.
-- The defaults stay: a replica of the previous version still running during
-- a rolling update then records its calls against the right budget.
ALTER TABLE limiter_calls ADD COLUMN budget TEXT NOT NULL DEFAULT 'getPackageUri';
DROP INDEX limiter_calls_at;
CREATE INDEX limiter_calls_budget_at ON limiter_calls (budget, at);

-- requester is '' for a key queued before this migration until its next
-- Take; serve_round is the key's round (mde.JoinRound), fixed at joining.
ALTER TABLE limiter_queue ADD COLUMN budget TEXT NOT NULL DEFAULT 'getPackageUri';
ALTER TABLE limiter_queue ADD COLUMN requester TEXT NOT NULL DEFAULT '';
ALTER TABLE limiter_queue ADD COLUMN serve_round BIGINT NOT NULL DEFAULT 0;
ALTER TABLE limiter_queue DROP CONSTRAINT limiter_queue_pkey;
ALTER TABLE limiter_queue ADD PRIMARY KEY (budget, key);

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
