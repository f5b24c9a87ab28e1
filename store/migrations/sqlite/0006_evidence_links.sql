-- Download links of the file evidence store: the SHA-256 of each token, never
-- the token, with the request it opens, the user it was issued to and its
-- expiry (unix milliseconds). Rows long expired are deleted as new ones come.
CREATE TABLE evidence_links (
	token_sha256 TEXT PRIMARY KEY,
	request_id   TEXT NOT NULL,
	actor        TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL
);
CREATE INDEX evidence_links_expires ON evidence_links (expires_at);
