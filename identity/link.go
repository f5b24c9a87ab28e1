package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// signIn is what a sign-in gave (confidential.AuthResult and
// public.AuthResult are the same MSAL type).
type signIn = confidential.AuthResult

// finishLink checks a fresh sign-in (tenant, then email) and only then
// stores the staged tokens and the link. A refused link stores nothing.
func (s *Service) finishLink(ctx context.Context, team, user string, res signIn, staged *stagedCache) (*Link, error) {
	id := res.IDToken
	name := accountName(res)
	tid := id.TenantID
	if tid == "" { // no tid claim: the home tenant from client_info
		if _, t, ok := strings.Cut(res.Account.HomeAccountID, "."); ok {
			tid = t
		}
	}
	// Refusals never name the Microsoft account to the Slack user: it may be
	// a colleague's who opened her link. The log keeps it.
	if !strings.EqualFold(tid, s.cfg.TenantID) {
		return nil, s.refuse(ctx, team, user, fmt.Errorf("%w (%s, not %s)", ErrWrongTenant, orNone(tid), s.cfg.TenantID),
			"signed in as "+name)
	}
	if res.Account.HomeAccountID == "" {
		return nil, s.linkFailed(ctx, team, user, errors.New("Microsoft's answer named no account (no client_info or id_token)"))
	}
	if s.cfg.RequireEmailMatch {
		email, err := s.cfg.Emails.UserEmail(ctx, team, user)
		if err != nil {
			return nil, s.linkFailed(ctx, team, user, fmt.Errorf("could not read your Slack profile email: %w", err))
		}
		if !emailMatches(email, res) {
			return nil, s.refuse(ctx, team, user, ErrEmailMismatch, fmt.Sprintf("signed in as %s, Slack email is %s", name, orNone(email)))
		}
	}
	cached := staged.bytes()
	if len(cached) == 0 {
		return nil, s.linkFailed(ctx, team, user, errors.New("Microsoft's answer held no token to keep"))
	}
	link := Link{
		Team: team, User: user,
		HomeAccountID: res.Account.HomeAccountID,
		Username:      name,
		TenantID:      tid,
		LinkedAt:      s.cfg.Now().UTC().Truncate(time.Millisecond), // as stored
	}
	// A pooled client only holds a view of the row; drop it so nothing of a
	// previous account lingers, and wait for any call it is making.
	if uc := s.clients.drop(clientKey(team, user)); uc != nil {
		uc.mu.Lock()
		defer uc.mu.Unlock()
	}
	if err := s.cfg.Store.SaveTokenCache(ctx, team, user, seal(s.aead, cached, userAAD(team, user))); err != nil {
		return nil, s.linkFailed(ctx, team, user, fmt.Errorf("save the token cache: %w", err))
	}
	if err := s.cfg.Store.SaveLink(ctx, link); err != nil {
		// Do not leave tokens without a link.
		if derr := s.cfg.Store.DeleteLink(context.WithoutCancel(ctx), team, user); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, s.linkFailed(ctx, team, user, fmt.Errorf("save the link: %w", err))
	}
	s.cfg.Logger.InfoContext(ctx, "identity linked", "team", team, "user", user, "account", name)
	return &link, nil
}

// linkFailed logs a refused or failed link of a known user and wraps err for them.
func (s *Service) linkFailed(ctx context.Context, team, user string, err error) error {
	return s.refuse(ctx, team, user, err, "")
}

// refuse is linkFailed with a detail for the log only: err is what the user
// reads, detail what operators need (the account that signed in).
func (s *Service) refuse(ctx context.Context, team, user string, err error, detail string) error {
	attrs := []any{"team", team, "user", user, "reason", err.Error()}
	if detail != "" {
		attrs = append(attrs, "detail", detail)
	}
	var ae *authorityError
	if errors.As(err, &ae) { // MSAL's words: endpoint and OAuth error, no secret
		attrs = append(attrs, "cause", ae.err.Error())
	}
	s.cfg.Logger.WarnContext(ctx, "identity link refused", attrs...)
	return &LinkError{Team: team, User: user, Err: err}
}

// accountName is the Microsoft sign-in name: preferred_username, else
// email, else upn.
func accountName(res signIn) string {
	for _, n := range []string{res.IDToken.PreferredUsername, res.IDToken.Email, res.IDToken.UPN, res.Account.PreferredUsername} {
		if n = strings.TrimSpace(n); n != "" {
			return n
		}
	}
	return "(unnamed account)"
}

// emailMatches: the Slack email equals the account's preferred_username,
// email or upn claim, ignoring case.
func emailMatches(slackEmail string, res signIn) bool {
	slackEmail = strings.TrimSpace(slackEmail)
	if slackEmail == "" {
		return false
	}
	for _, n := range []string{res.IDToken.PreferredUsername, res.IDToken.Email, res.IDToken.UPN} {
		if strings.EqualFold(strings.TrimSpace(n), slackEmail) {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
