package identity

import (
	"context"
	"errors"
	"fmt"
)

// Token returns the user's delegated access token silently: from the cache,
// or refreshed with the stored refresh token. It fails with an error that
// errors.Is ErrNotLinked when the user must sign in again (never linked, no
// cached tokens, refresh token expired or revoked); any other failure (the
// authority unreachable, the database down) is not ErrNotLinked.
func (s *Service) Token(ctx context.Context, team, user string) (string, error) {
	if err := checkIDs(team, user); err != nil {
		return "", err
	}
	link, err := s.cfg.Store.LoadLink(ctx, team, user)
	if err != nil {
		return "", fmt.Errorf("identity: load link: %w", err)
	}
	if link == nil {
		return "", ErrNotLinked
	}
	uc, err := s.userClient(team, user)
	if err != nil {
		return "", err
	}
	uc.mu.Lock()
	defer uc.mu.Unlock()
	tok, err := uc.silent(ctx, link.HomeAccountID)
	if err == nil {
		return tok, nil
	}
	if reason, relink := relinkReason(err, uc.cache); relink {
		s.cfg.Logger.InfoContext(ctx, "identity: re-link needed", "team", team, "user", user, "reason", reason)
		return "", fmt.Errorf("%w (%s)", ErrNotLinked, reason)
	}
	return "", fmt.Errorf("identity: token for %s:%s: %w", team, user, err)
}

// relinkReason tells whether a silent failure means the user must sign in
// again, and why.
func relinkReason(err error, c *userCache) (string, bool) {
	if c.missing.Load() && ctxErr(err) == nil {
		return "no cached tokens", true
	}
	// A row that does not open (the key was changed without rekey, or the row
	// was tampered with) holds nothing usable: a new sign-in replaces it.
	if errors.Is(err, errUnseal) {
		return "stored tokens do not open with the current store.encryption_key", true
	}
	if oe, ok := oauthErrorOf(err); ok {
		switch oe.Code {
		case "invalid_grant", "interaction_required":
			return "Microsoft answered " + oe.String(), true
		}
		return "", false
	}
	// MSAL's own words when the cache has no refresh token for the account.
	if err.Error() == "no token found" {
		return "no refresh token cached", true
	}
	return "", false
}
