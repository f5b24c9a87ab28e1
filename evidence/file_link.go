package evidence

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Link issues {public_url}/evidence/{id}?token=…: a random 256-bit token
// whose SHA-256 alone is saved (with the actor and expiry) through Tokens.
// ErrNoPublicURL without a public URL; *PurgedError after a purge.
func (s *File) Link(ctx context.Context, id string, ttl time.Duration, actor string) (Link, error) {
	if err := ValidID(id); err != nil {
		return Link{}, err
	}
	if ttl <= 0 {
		return Link{}, fmt.Errorf("evidence: link for %s: ttl must be positive, got %s", id, ttl)
	}
	c, err := s.Custody(ctx, id)
	if err != nil {
		return Link{}, err
	}
	if c.Purged() {
		return Link{}, &PurgedError{ID: id, At: c.PurgedAt}
	}
	if _, err := os.Stat(s.packagePath(id)); errors.Is(err, fs.ErrNotExist) {
		return Link{}, fmt.Errorf("%w (request %s)", ErrMissing, id)
	}
	if s.publicURL == "" {
		return Link{}, ErrNoPublicURL
	}
	if s.tokens == nil {
		return Link{}, errors.New("evidence: file store has no link token table")
	}
	token, hash := newToken()
	issued := now(s.clock)
	expires := issued.Add(ttl)
	if err := s.tokens.SaveLinkToken(ctx, LinkToken{Hash: hash, RequestID: id, Actor: actor, CreatedAt: issued, ExpiresAt: expires}); err != nil {
		return Link{}, fmt.Errorf("evidence: link for %s: %w", id, err)
	}
	if err := s.Record(ctx, id, LinkIssued(actor, issued, expires)); err != nil {
		return Link{}, err
	}
	return Link{URL: s.publicURL + DownloadPath + id + "?token=" + token, ExpiresAt: expires}, nil
}

// LinkIssued is the custody access of a link handed out, valid until expires.
func LinkIssued(actor string, at, expires time.Time) Access {
	return Access{Kind: AccessLinkIssued, Actor: actor, At: at, Detail: "valid until " + expires.UTC().Format(time.RFC3339)}
}
