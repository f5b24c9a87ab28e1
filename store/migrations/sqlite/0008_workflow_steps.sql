-- Workflow Builder steps (slack.features workflow_step): the step execution a
-- request answers, kept until the step is completed. The execution's
-- bot_access_token is sealed by the identity package (AES-256-GCM with
-- store.encryption_key, bound to the request and its requester), never in
-- clear. The row goes with its request.
CREATE TABLE workflow_steps (
	request_id   TEXT PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
	team         TEXT NOT NULL,
	requester    TEXT NOT NULL,
	execution_id TEXT NOT NULL,
	sealed_token BLOB NOT NULL,
	created_at   BIGINT NOT NULL
);

-- The approvals waiting in a workspace, soonest to expire first (App Home).
CREATE INDEX requests_state_team_expires ON requests (state, team, expires_at);
