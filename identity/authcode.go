package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// authorizeScopes are added to the authorize URL only: MSAL adds them to
// token requests itself.
var authorizeScopes = []string{"openid", "profile", "offline_access"}

// maxStateLen and maxCodeLen bound what a callback may hand us (Entra's
// codes are about 1 KB).
const (
	maxStateLen = 256
	maxCodeLen  = 8192
)

// redeemTimeout bounds a callback's code redemption, checks and storing.
const redeemTimeout = time.Minute

// StartLogin begins linking the user with the configured flow. For
// auth_code the Prompt's URL is the sign-in link (show it to that user
// only: it carries their single-use state); for device_code it is the
// verification URL with a UserCode, and Wait completes the link.
func (s *Service) StartLogin(ctx context.Context, team, user string) (*Prompt, error) {
	if err := checkIDs(team, user); err != nil {
		return nil, err
	}
	if s.cfg.Flow == FlowDeviceCode {
		return s.startDeviceCode(ctx, team, user)
	}
	return s.startAuthCode(ctx, team, user)
}

// startAuthCode stores a state bound to (team, user) with the sealed PKCE
// verifier, and returns the authorize URL with the state and S256 challenge.
func (s *Service) startAuthCode(ctx context.Context, team, user string) (*Prompt, error) {
	state, verifier := randomString(32), randomString(32) // 256 bits each
	scopes := append(append([]string(nil), s.cfg.scopes...), authorizeScopes...)
	// AuthCodeURL fetches the openid-configuration; it has no state or PKCE option.
	raw, err := s.urlClient.AuthCodeURL(ctx, s.cfg.ClientID, s.cfg.RedirectURL, scopes)
	if err != nil {
		return nil, fmt.Errorf("identity: build the sign-in link: %w", authorityFailure("sign-in link", err))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("identity: sign-in link: %w", err)
	}
	q := u.Query()
	q.Set("state", state)
	q.Set("code_challenge", pkceChallenge(verifier))
	q.Set("code_challenge_method", "S256")
	q.Set("prompt", "select_account") // the browser may hold another account's session
	u.RawQuery = q.Encode()

	expires := s.cfg.Now().Add(s.cfg.StateTTL)
	st := LoginState{
		ID: stateID(state), Team: team, User: user,
		Sealed:    seal(s.aead, []byte(verifier), userAAD(team, user)),
		ExpiresAt: expires,
	}
	if err := s.cfg.Store.SaveLoginState(ctx, st); err != nil {
		return nil, fmt.Errorf("identity: save sign-in state: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "identity sign-in started", "flow", FlowAuthCode, "team", team, "user", user)
	return &Prompt{Flow: FlowAuthCode, URL: u.String(), ExpiresAt: expires}, nil
}

// CompleteLogin redeems the /auth/callback redirect: state and code are its
// query parameters (code is empty when Microsoft answered an error). An
// unknown, replayed or expired state fails with ErrBadState and redeems
// nothing. Failures after that concern a known user and come as *LinkError.
// With RequireEmailMatch off it refuses: such a link takes PendingLogin,
// then ConfirmLogin.
func (s *Service) CompleteLogin(ctx context.Context, state, code string) (*Link, error) {
	if s.cfg.Flow != FlowAuthCode {
		return nil, errors.New("identity: sign-in by link is off (identity.flow is device_code)")
	}
	if !s.cfg.RequireEmailMatch {
		return nil, errConfirmRequired
	}
	return s.completeLogin(ctx, state, code)
}

// errConfirmRequired: CompleteLogin without the email check, which would
// link whoever opened the link without asking.
var errConfirmRequired = errors.New("identity: with identity.require_email_match off a sign-in must be confirmed (PendingLogin, ConfirmLogin)")

// codeRE is what an authorization code may hold (Entra's are base64url
// segments joined by dots); the confirmation form carries it back.
var codeRE = regexp.MustCompile(`^[A-Za-z0-9._~+/=-]+$`)

// PendingLogin is the first half of a callback when RequireEmailMatch is
// off: nothing proves then that the person who signed in is the Slack user
// the link was made for, so the callback page names that user and asks.
// It returns whom the sign-in would link and the confirmation form's token;
// it takes, redeems and stores nothing. With RequireEmailMatch on it
// returns (nil, nil): CompleteLogin checks the email instead. An unknown or
// expired state, or a malformed code, is ErrBadState.
func (s *Service) PendingLogin(ctx context.Context, state, code string) (*Pending, error) {
	if s.cfg.Flow != FlowAuthCode {
		return nil, errors.New("identity: sign-in by link is off (identity.flow is device_code)")
	}
	if s.cfg.RequireEmailMatch {
		return nil, nil
	}
	if state == "" || len(state) > maxStateLen || len(code) > maxCodeLen || !codeRE.MatchString(code) {
		return nil, ErrBadState
	}
	st, err := s.cfg.Store.PeekLoginState(ctx, stateID(state))
	if err != nil {
		return nil, fmt.Errorf("identity: load sign-in state: %w", err)
	}
	if st == nil || !s.cfg.Now().Before(st.ExpiresAt) {
		s.cfg.Logger.InfoContext(ctx, "identity callback refused: unknown, used or expired state")
		return nil, ErrBadState
	}
	s.cfg.Logger.InfoContext(ctx, "identity sign-in awaits confirmation", "team", st.Team, "user", st.User)
	return &Pending{Team: st.Team, User: st.User, CSRF: s.csrfToken(st.ID)}, nil
}

// ConfirmLogin is the second half: the confirmation form came back with
// csrf, which must be PendingLogin's token for this state. A wrong or
// missing token is ErrBadState and spends nothing; otherwise it is
// CompleteLogin (the state is taken, so the token works once, and not past
// the state's expiry).
func (s *Service) ConfirmLogin(ctx context.Context, state, code, csrf string) (*Link, error) {
	if s.cfg.Flow != FlowAuthCode {
		return nil, errors.New("identity: sign-in by link is off (identity.flow is device_code)")
	}
	if s.cfg.RequireEmailMatch {
		return nil, errors.New("identity: sign-in confirmation is off (identity.require_email_match is on)")
	}
	if state == "" || len(state) > maxStateLen {
		return nil, ErrBadState
	}
	if want := s.csrfToken(stateID(state)); !hmac.Equal([]byte(csrf), []byte(want)) {
		s.cfg.Logger.WarnContext(ctx, "identity confirmation refused: missing or wrong form token")
		return nil, ErrBadState
	}
	return s.completeLogin(ctx, state, code)
}

// csrfToken binds the confirmation form to one sign-in state (by its ID):
// HMAC-SHA256 under a key derived from store.encryption_key, so that any
// replica can check it and nobody without the key can make one.
func (s *Service) csrfToken(stateID string) string {
	mac := hmac.New(sha256.New, s.csrfKey)
	mac.Write([]byte(stateID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// completeLogin takes the state, redeems the code and links (CompleteLogin).
func (s *Service) completeLogin(ctx context.Context, state, code string) (*Link, error) {
	if state == "" || len(state) > maxStateLen {
		return nil, ErrBadState
	}
	// Taking the state deletes it: a replay finds nothing.
	st, err := s.cfg.Store.TakeLoginState(ctx, stateID(state))
	if err != nil {
		return nil, fmt.Errorf("identity: load sign-in state: %w", err)
	}
	if st == nil {
		s.cfg.Logger.InfoContext(ctx, "identity callback refused: unknown or used state")
		return nil, ErrBadState
	}
	if !s.cfg.Now().Before(st.ExpiresAt) {
		s.cfg.Logger.InfoContext(ctx, "identity callback refused: expired state", "team", st.Team, "user", st.User)
		return nil, ErrBadState
	}
	team, user := st.Team, st.User
	// The state is spent: finish even if the browser goes away meanwhile,
	// or the user would have to start over for nothing.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redeemTimeout)
	defer cancel()
	if code == "" || len(code) > maxCodeLen {
		return nil, s.linkFailed(ctx, team, user, errors.New("Microsoft returned no usable sign-in code (the sign-in was cancelled or refused)"))
	}
	verifier, err := unseal(s.aead, st.Sealed, userAAD(team, user))
	if err != nil {
		return nil, s.linkFailed(ctx, team, user, err)
	}
	staged := &stagedCache{}
	cli, err := s.newConfidential(staged)
	if err != nil {
		return nil, s.linkFailed(ctx, team, user, err)
	}
	res, err := cli.AcquireTokenByAuthCode(ctx, code, s.cfg.RedirectURL, s.cfg.scopes,
		confidential.WithChallenge(string(verifier))) // MSAL sends it as code_verifier
	if err != nil {
		return nil, s.linkFailed(ctx, team, user, authorityFailure("sign-in", err))
	}
	return s.finishLink(ctx, team, user, res, staged)
}

// randomString is n random bytes, base64url without padding (43 characters
// for 32 bytes: a valid PKCE verifier).
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// stateID is what the store keeps instead of the state.
func stateID(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}
