package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mdebot/mdebot/identity"
)

// confirm is the callback page and its form with the email check off.
func confirm(t testing.TB, s *identity.Service, state, code string) (*identity.Link, error) {
	t.Helper()
	p, err := s.PendingLogin(context.Background(), state, code)
	if err != nil || p == nil {
		t.Fatalf("PendingLogin = %+v, %v", p, err)
	}
	return s.ConfirmLogin(context.Background(), state, code, p.CSRF)
}

// With identity.require_email_match off, the callback names whom it would
// link and stores nothing; only the form, with the token bound to that very
// state, links, once.
func TestConfirmationStep(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	e.mod = func(o *identity.Options) { o.RequireEmailMatch = false }
	s := e.service(t)
	e.addUser("UA", "alice@contoso.test")
	e.addUser("UB", "bob@contoso.test")
	ctx := context.Background()

	// Bob opens the link Alice got from `login`.
	state, code := signIn(t, e, s, "UA", "bob@contoso.test")
	if l, err := s.CompleteLogin(ctx, state, code); err == nil || l != nil {
		t.Fatalf("CompleteLogin without confirmation = %+v, %v; want a refusal", l, err)
	}
	p, err := s.PendingLogin(ctx, state, code)
	if err != nil || p == nil || p.Team != team || p.User != "UA" || len(p.CSRF) < 40 {
		t.Fatalf("PendingLogin = %+v, %v; want UA of %s with a token", p, err, team)
	}
	if again, err := s.PendingLogin(ctx, state, code); err != nil || again.CSRF != p.CSRF {
		t.Fatalf("a reload of the page gave %+v, %v", again, err)
	}
	assertNothingStored(t, e, "UA")
	if n := tokenRequests(e.fake, "authorization_code"); n != 0 {
		t.Fatalf("the code was redeemed before the confirmation (%d requests)", n)
	}

	// Another sign-in's token does not fit this state, and neither does none.
	otherState, otherCode := signIn(t, e, s, "UB", "bob@contoso.test")
	other, err := s.PendingLogin(ctx, otherState, otherCode)
	if err != nil || other.CSRF == p.CSRF {
		t.Fatalf("the other sign-in's PendingLogin = %+v, %v; want its own token", other, err)
	}
	for name, tok := range map[string]string{"no token": "", "another state's token": other.CSRF, "a forged token": p.CSRF[:len(p.CSRF)-2] + "AA"} {
		if l, err := s.ConfirmLogin(ctx, state, code, tok); !errors.Is(err, identity.ErrBadState) || l != nil {
			t.Fatalf("%s: ConfirmLogin = %+v, %v; want ErrBadState", name, l, err)
		}
		assertNothingStored(t, e, "UA")
	}

	l, err := s.ConfirmLogin(ctx, state, code, p.CSRF)
	if err != nil || l.User != "UA" || l.Username != "bob@contoso.test" {
		t.Fatalf("ConfirmLogin = %+v, %v", l, err)
	}
	if _, err := s.Token(ctx, team, "UA"); err != nil {
		t.Fatalf("Token after the confirmation: %v", err)
	}
	if l, err := s.ConfirmLogin(ctx, state, code, p.CSRF); !errors.Is(err, identity.ErrBadState) || l != nil {
		t.Fatalf("a second submission = %+v, %v; want ErrBadState", l, err)
	}
	if p, err := s.PendingLogin(ctx, state, code); !errors.Is(err, identity.ErrBadState) || p != nil {
		t.Fatalf("the spent state still asks for a confirmation: %+v, %v", p, err)
	}
}

// The token expires with its state.
func TestConfirmationExpiresWithTheState(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	e.mod = func(o *identity.Options) { o.RequireEmailMatch = false }
	s := e.service(t)
	e.addUser("UA", "alice@contoso.test")
	ctx := context.Background()
	state, code := signIn(t, e, s, "UA", "alice@contoso.test")
	p, err := s.PendingLogin(ctx, state, code)
	if err != nil || p == nil {
		t.Fatalf("PendingLogin = %+v, %v", p, err)
	}
	e.clock.Advance(10*time.Minute + time.Second)
	if p, err := s.PendingLogin(ctx, state, code); !errors.Is(err, identity.ErrBadState) || p != nil {
		t.Fatalf("PendingLogin after expiry = %+v, %v", p, err)
	}
	if l, err := s.ConfirmLogin(ctx, state, code, p.CSRF); !errors.Is(err, identity.ErrBadState) || l != nil {
		t.Fatalf("ConfirmLogin after expiry = %+v, %v", l, err)
	}
	assertNothingStored(t, e, "UA")
}

// With the email check on there is no confirmation step: PendingLogin says
// so and ConfirmLogin refuses.
func TestNoConfirmationWithEmailMatch(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	s := e.service(t)
	e.addUser("UA", "alice@contoso.test")
	state, code := signIn(t, e, s, "UA", "alice@contoso.test")
	if p, err := s.PendingLogin(context.Background(), state, code); err != nil || p != nil {
		t.Fatalf("PendingLogin = %+v, %v; want nil, nil", p, err)
	}
	if l, err := s.ConfirmLogin(context.Background(), state, code, "x"); err == nil || l != nil {
		t.Fatalf("ConfirmLogin = %+v, %v; want a refusal", l, err)
	}
	if _, err := s.CompleteLogin(context.Background(), state, code); err != nil {
		t.Fatalf("CompleteLogin: %v", err)
	}
}

// A malformed code is never echoed into the confirmation form.
func TestPendingLoginRefusesMalformedCode(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	e.mod = func(o *identity.Options) { o.RequireEmailMatch = false }
	s := e.service(t)
	e.addUser("UA", "alice@contoso.test")
	state, _ := signIn(t, e, s, "UA", "alice@contoso.test")
	for _, code := range []string{"", `"><script>alert(1)</script>`, "a b", string(make([]byte, 9000))} {
		if p, err := s.PendingLogin(context.Background(), state, code); !errors.Is(err, identity.ErrBadState) || p != nil {
			t.Errorf("PendingLogin(code %.20q) = %+v, %v; want ErrBadState", code, p, err)
		}
	}
}
