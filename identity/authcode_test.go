package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/identity"
)

func TestAuthCodeLinkThenSilentToken(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	s := e.service(t)
	e.addUser("U1", "alice@contoso.test")
	ctx := context.Background()

	p, err := s.StartLogin(ctx, team, "U1")
	if err != nil {
		t.Fatal(err)
	}
	q := queryOf(t, p.URL)
	if len(q.Get("state")) < 22 { // >= 128 bits in base64url
		t.Errorf("state %q is too short", q.Get("state"))
	}
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		t.Errorf("PKCE parameters = %q/%q, want S256 and a 43-char challenge", q.Get("code_challenge_method"), q.Get("code_challenge"))
	}
	if q.Get("redirect_uri") != redirectURL || q.Get("client_id") != clientID {
		t.Errorf("redirect_uri/client_id = %q/%q", q.Get("redirect_uri"), q.Get("client_id"))
	}
	if sc := strings.Fields(q.Get("scope")); !hasAll(sc, append(identity.DefaultScopes(), "openid", "profile", "offline_access")...) {
		t.Errorf("authorize scopes = %v, want the MDE scopes plus openid profile offline_access", sc)
	}
	if want := e.clock.Now().Add(10 * time.Minute); !p.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", p.ExpiresAt, want)
	}

	redirect, err := e.fake.Browse(ctx, p.URL, "alice@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.CompleteLogin(ctx, redirect.Query().Get("state"), redirect.Query().Get("code"))
	if err != nil {
		t.Fatalf("CompleteLogin: %v", err)
	}
	if l.Team != team || l.User != "U1" || l.Username != "alice@contoso.test" || l.TenantID != tenantID ||
		!strings.HasSuffix(l.HomeAccountID, "."+tenantID) || !l.LinkedAt.Equal(e.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("link = %+v", l)
	}
	got, err := s.Linked(ctx, team, "U1")
	if err != nil || *got != *l {
		t.Fatalf("Linked = %+v, %v; want %+v", got, err, l)
	}

	// The code was redeemed by a confidential client with the PKCE verifier.
	var sawCode bool
	for _, r := range e.fake.Requests() {
		if r.GrantType == "authorization_code" {
			sawCode = true
			if !r.ClientSecret || !r.CodeVerifier || r.Status != 200 {
				t.Errorf("code redemption = %+v, want client secret and verifier, 200", r)
			}
		}
	}
	if !sawCode {
		t.Fatal("no authorization_code grant seen")
	}

	tok, err := s.Token(ctx, team, "U1")
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	info, ok := e.fake.Introspect(tok)
	if !ok || info.User.Username != "alice@contoso.test" || !hasAll(info.Scopes, identity.DefaultScopes()...) {
		t.Fatalf("token is for %+v (issued=%v), want alice with the MDE scopes", info, ok)
	}
	// An hour-long access token comes from the cache: no new token request.
	before := len(e.fake.Requests())
	tok2, err := s.Token(ctx, team, "U1")
	if err != nil || tok2 != tok {
		t.Fatalf("second Token = %.12s..., %v; want the cached token", tok2, err)
	}
	if n := len(e.fake.Requests()); n != before {
		t.Fatalf("second Token made %d requests, want 0", n-before)
	}
}

func TestSilentRefreshAfterAccessTokenExpires(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	e.fake.SetAccessTokenTTL(60 * time.Second) // under MSAL's 5-minute margin: always refreshed
	s := e.service(t)
	e.addUser("U1", "alice@contoso.test")
	link(t, e, s, "U1", "alice@contoso.test")
	ctx := context.Background()

	seen := map[string]bool{}
	for i := range 3 {
		tok, err := s.Token(ctx, team, "U1")
		if err != nil {
			t.Fatalf("Token %d: %v", i, err)
		}
		if seen[tok] {
			t.Fatalf("Token %d repeated an expired access token", i)
		}
		seen[tok] = true
		if owner := tokenOwner(t, e.fake, tok); owner != "alice@contoso.test" {
			t.Fatalf("token for %s", owner)
		}
	}
	if n := tokenRequests(e.fake, "refresh_token"); n != 3 {
		t.Fatalf("%d refresh_token grants, want 3", n)
	}
}

func TestRestartStillGetsToken(t *testing.T) {
	for _, ttl := range []time.Duration{time.Hour, 60 * time.Second} {
		t.Run(ttl.String(), func(t *testing.T) {
			e := newEnv(t, identity.FlowAuthCode)
			e.fake.SetAccessTokenTTL(ttl)
			s1 := e.service(t)
			e.addUser("U1", "alice@contoso.test")
			link(t, e, s1, "U1", "alice@contoso.test")
			first, err := s1.Token(context.Background(), team, "U1")
			if err != nil {
				t.Fatal(err)
			}
			s1.Close()
			if err := e.db.Close(); err != nil {
				t.Fatal(err)
			}

			// A new process: new database handle, new service, same file and key.
			e.db = e.openDB(t)
			s2 := e.service(t)
			refreshes := tokenRequests(e.fake, "refresh_token")
			tok, err := s2.Token(context.Background(), team, "U1")
			if err != nil {
				t.Fatalf("Token after restart: %v", err)
			}
			if owner := tokenOwner(t, e.fake, tok); owner != "alice@contoso.test" {
				t.Fatalf("token for %s", owner)
			}
			refreshed := tokenRequests(e.fake, "refresh_token") > refreshes
			if ttl == time.Hour && (tok != first || refreshed) {
				t.Fatal("the cached access token did not survive the restart")
			}
			if ttl < 5*time.Minute && !refreshed {
				t.Fatal("the refresh token did not survive the restart")
			}
			if l, err := s2.Linked(context.Background(), team, "U1"); err != nil || l.Username != "alice@contoso.test" {
				t.Fatalf("Linked after restart = %+v, %v", l, err)
			}
		})
	}
}

func TestCallbackStateRefused(t *testing.T) {
	cases := []struct {
		name string
		// attack gets a state and code that must be refused, after setup.
		attack func(t *testing.T, e *env, s *identity.Service) (state, code string)
	}{
		{"replayed", func(t *testing.T, e *env, s *identity.Service) (string, string) {
			state, code := signIn(t, e, s, "U1", "alice@contoso.test")
			if _, err := s.CompleteLogin(context.Background(), state, code); err != nil {
				t.Fatalf("first CompleteLogin: %v", err)
			}
			if err := s.Unlink(context.Background(), team, "U1"); err != nil { // so a second link would show
				t.Fatal(err)
			}
			return state, code
		}},
		{"expired", func(t *testing.T, e *env, s *identity.Service) (string, string) {
			state, code := signIn(t, e, s, "U1", "alice@contoso.test")
			e.clock.Advance(10*time.Minute + time.Second)
			return state, code
		}},
		{"unknown", func(t *testing.T, e *env, s *identity.Service) (string, string) {
			_, code := signIn(t, e, s, "U1", "alice@contoso.test")
			return "Zm9yZ2VkLXN0YXRlLXZhbHVlLXRoYXQtd2FzLW5ldmVyLWlzc3VlZA", code
		}},
		{"empty", func(t *testing.T, e *env, s *identity.Service) (string, string) {
			_, code := signIn(t, e, s, "U1", "alice@contoso.test")
			return "", code
		}},
		{"oversized", func(t *testing.T, e *env, s *identity.Service) (string, string) {
			_, code := signIn(t, e, s, "U1", "alice@contoso.test")
			return strings.Repeat("A", 100_000), code
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, identity.FlowAuthCode)
			s := e.service(t)
			e.addUser("U1", "alice@contoso.test")
			state, code := c.attack(t, e, s)
			redeemed := tokenRequests(e.fake, "authorization_code")

			l, err := s.CompleteLogin(context.Background(), state, code)
			if !errors.Is(err, identity.ErrBadState) || l != nil {
				t.Fatalf("CompleteLogin = %+v, %v; want ErrBadState", l, err)
			}
			var le *identity.LinkError
			if errors.As(err, &le) {
				t.Fatalf("a refused state named a user: %+v", le)
			}
			if n := tokenRequests(e.fake, "authorization_code"); n != redeemed {
				t.Fatalf("a refused state redeemed a code (%d requests)", n-redeemed)
			}
			assertNothingStored(t, e, "U1")
			if _, err := s.Token(context.Background(), team, "U1"); !errors.Is(err, identity.ErrNotLinked) {
				t.Fatalf("Token = %v, want ErrNotLinked", err)
			}
		})
	}
}

// The state is bound to the Slack user who asked: whoever's browser carries
// it back, it links that user and nobody else.
func TestStateLinksOnlyItsOwner(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	s := e.service(t)
	e.addUser("UA", "alice@contoso.test")
	e.addUser("UB", "bob@contoso.test")
	ctx := context.Background()

	t.Run("A's state links A", func(t *testing.T) {
		l := link(t, e, s, "UA", "alice@contoso.test")
		if l.User != "UA" {
			t.Fatalf("linked %s", l.User)
		}
		assertNothingStored(t, e, "UB")
	})
	t.Run("B signing in at A's link is refused", func(t *testing.T) {
		if err := s.Unlink(ctx, team, "UA"); err != nil {
			t.Fatal(err)
		}
		state, code := signIn(t, e, s, "UA", "bob@contoso.test")
		_, err := s.CompleteLogin(ctx, state, code)
		le := wantLinkError(t, err, identity.ErrEmailMismatch, "UA")
		// UA reads this: it says no more than that it does not match; it
		// names neither B's account nor A's own email.
		if le.Error() != identity.ErrEmailMismatch.Error() || strings.Contains(le.Error(), "bob") || strings.Contains(le.Error(), "alice") {
			t.Errorf("message %q should be exactly %q", le.Error(), identity.ErrEmailMismatch)
		}
		assertNothingStored(t, e, "UA")
		assertNothingStored(t, e, "UB")
	})
}

func TestForeignTenantRefused(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	s := e.service(t)
	e.fake.AddUser(entratestUser("mallory@fabrikam.test", otherTenant))
	e.emails.set(team, "U1", "mallory@fabrikam.test")
	state, code := signIn(t, e, s, "U1", "mallory@fabrikam.test")

	l, err := s.CompleteLogin(context.Background(), state, code)
	le := wantLinkError(t, err, identity.ErrWrongTenant, "U1")
	if l != nil || !strings.Contains(le.Error(), otherTenant) || strings.Contains(le.Error(), "mallory") {
		t.Fatalf("link = %+v, message %q; want refusal naming the tenant, not the account", l, le.Error())
	}
	assertNothingStored(t, e, "U1")
	if _, err := s.Linked(context.Background(), team, "U1"); !errors.Is(err, identity.ErrNotLinked) {
		t.Fatalf("Linked = %v, want ErrNotLinked", err)
	}
}

func TestEmailCheck(t *testing.T) {
	cases := []struct {
		name       string
		msUser     string
		msEmail    string
		slackEmail string
		noCheck    bool
		wantErr    error
	}{
		{name: "equal", msUser: "alice@contoso.test", slackEmail: "alice@contoso.test"},
		{name: "case differs", msUser: "Alice@Contoso.test", slackEmail: "alice@CONTOSO.test"},
		{name: "email claim matches", msUser: "alice@contoso.onmicrosoft.test", msEmail: "alice@contoso.test", slackEmail: "alice@contoso.test"},
		{name: "mismatch", msUser: "bob@contoso.test", slackEmail: "alice@contoso.test", wantErr: identity.ErrEmailMismatch},
		{name: "no slack email", msUser: "alice@contoso.test", slackEmail: "", wantErr: identity.ErrEmailMismatch},
		{name: "mismatch allowed when the check is off, once confirmed", msUser: "bob@contoso.test", slackEmail: "alice@contoso.test", noCheck: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, identity.FlowAuthCode)
			if c.noCheck {
				e.mod = func(o *identity.Options) { o.RequireEmailMatch = false }
			}
			s := e.service(t)
			u := entratestUser(c.msUser, "")
			u.Email = c.msEmail
			e.fake.AddUser(u)
			e.emails.set(team, "U1", c.slackEmail)
			state, code := signIn(t, e, s, "U1", c.msUser)

			var l *identity.Link
			var err error
			if c.noCheck {
				l, err = confirm(t, s, state, code)
			} else {
				l, err = s.CompleteLogin(context.Background(), state, code)
			}
			if c.wantErr != nil {
				wantLinkError(t, err, c.wantErr, "U1")
				assertNothingStored(t, e, "U1")
				return
			}
			if err != nil || l.Username != c.msUser {
				t.Fatalf("CompleteLogin = %+v, %v", l, err)
			}
			if _, err := s.Token(context.Background(), team, "U1"); err != nil {
				t.Fatalf("Token: %v", err)
			}
		})
	}
}

// A cancelled sign-in comes back with an error and no code: the user is
// known (the state was valid) and told, and the state is spent.
func TestCallbackWithoutCode(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	s := e.service(t)
	e.addUser("U1", "alice@contoso.test")
	state, code := signIn(t, e, s, "U1", "alice@contoso.test")

	_, err := s.CompleteLogin(context.Background(), state, "")
	var le *identity.LinkError
	if !errors.As(err, &le) || le.User != "U1" {
		t.Fatalf("err = %v, want a LinkError for U1", err)
	}
	if _, err := s.CompleteLogin(context.Background(), state, code); !errors.Is(err, identity.ErrBadState) {
		t.Fatalf("retry with the spent state = %v, want ErrBadState", err)
	}
	assertNothingStored(t, e, "U1")
}

// A wrong or forged code is refused by the authority, and nothing is stored.
func TestCallbackWithBadCode(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	s := e.service(t)
	e.addUser("U1", "alice@contoso.test")
	state, _ := signIn(t, e, s, "U1", "alice@contoso.test")

	_, err := s.CompleteLogin(context.Background(), state, "forged-code")
	var le *identity.LinkError
	if !errors.As(err, &le) || le.User != "U1" || !strings.Contains(le.Error(), "invalid_grant") {
		t.Fatalf("err = %v, want a LinkError naming invalid_grant", err)
	}
	if strings.Contains(le.Error(), "http") {
		t.Errorf("user-facing message leaks MSAL internals: %q", le.Error())
	}
	assertNothingStored(t, e, "U1")
}
