package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mdebot/mdebot/evidence"
)

// linkKeep is how long an expired link's row stays (so a late click is told
// "expired" rather than "not valid"); older rows go when a link is saved.
const linkKeep = 24 * time.Hour

// SaveLinkToken stores a file evidence link's token hash (evidence.LinkTokens).
func (d *DB) SaveLinkToken(ctx context.Context, t evidence.LinkToken) error {
	if len(t.Hash) != 64 || t.RequestID == "" || t.ExpiresAt.IsZero() {
		return errors.New("store: save link token: hash, request id and expiry are required")
	}
	if _, err := d.SQL.ExecContext(ctx, `DELETE FROM evidence_links WHERE expires_at < $1`,
		toMillis(t.CreatedAt.Add(-linkKeep))); err != nil {
		return fmt.Errorf("store: save link token: %w", err)
	}
	if _, err := d.SQL.ExecContext(ctx, `INSERT INTO evidence_links (token_sha256, request_id, actor, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, t.Hash, t.RequestID, t.Actor, toMillis(t.CreatedAt), toMillis(t.ExpiresAt)); err != nil {
		return fmt.Errorf("store: save link token: %w", err)
	}
	return nil
}

// LinkToken returns the link whose token hashes to hash, or evidence.ErrUnknownToken.
func (d *DB) LinkToken(ctx context.Context, hash string) (evidence.LinkToken, error) {
	t := evidence.LinkToken{Hash: hash}
	var created, expires int64
	err := d.SQL.QueryRowContext(ctx, `SELECT request_id, actor, created_at, expires_at
		FROM evidence_links WHERE token_sha256 = $1`, hash).Scan(&t.RequestID, &t.Actor, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return evidence.LinkToken{}, evidence.ErrUnknownToken
	}
	if err != nil {
		return evidence.LinkToken{}, fmt.Errorf("store: link token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromMillis(created), fromMillis(expires)
	return t, nil
}
