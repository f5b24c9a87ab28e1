-- Identity: each Slack user's link to a Microsoft account, their MSAL token
-- cache (AES-256-GCM sealed by the identity package, never in clear) and
-- pending auth-code sign-ins (keyed by the SHA-256 of the state, which is
-- never stored). Times are unix milliseconds.

CREATE TABLE identity_links (
	team            TEXT NOT NULL,
	slack_user      TEXT NOT NULL,
	home_account_id TEXT NOT NULL,
	username        TEXT NOT NULL,
	tenant_id       TEXT NOT NULL,
	linked_at       BIGINT NOT NULL,
	PRIMARY KEY (team, slack_user)
);

CREATE TABLE identity_token_caches (
	team       TEXT NOT NULL,
	slack_user TEXT NOT NULL,
	sealed     BYTEA NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (team, slack_user)
);

CREATE TABLE identity_login_states (
	id         TEXT PRIMARY KEY,
	team       TEXT NOT NULL,
	slack_user TEXT NOT NULL,
	sealed     BYTEA NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX identity_login_states_expires ON identity_login_states (expires_at);
