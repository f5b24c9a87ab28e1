package identity_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/identity"
)

// 50 users asking at once get their own token, every time, through both the
// cache and the refresh path.
func TestConcurrentUsersGetOwnTokens(t *testing.T) {
	const users = 50
	e := newEnv(t, identity.FlowAuthCode)
	s := e.service(t)
	for i := range users {
		u := fmt.Sprintf("U%03d", i)
		e.addUser(u, fmt.Sprintf("user%03d@contoso.test", i))
		link(t, e, s, u, fmt.Sprintf("user%03d@contoso.test", i))
	}
	// Round 1 refreshes (the linked tokens are valid for an hour, so expire
	// them by making new ones short); rounds 2-3 refresh every time too.
	e.fake.SetAccessTokenTTL(60 * time.Second)
	s2 := e.service(t) // a fresh service: every user's client is built concurrently
	for round, svc := range []*identity.Service{s, s2, s2} {
		var wg sync.WaitGroup
		errs := make(chan error, users)
		for i := range users {
			wg.Go(func() {
				u := fmt.Sprintf("U%03d", i)
				tok, err := svc.Token(context.Background(), team, u)
				if err != nil {
					errs <- fmt.Errorf("round %d %s: %w", round, u, err)
					return
				}
				info, ok := e.fake.Introspect(tok)
				if want := fmt.Sprintf("user%03d@contoso.test", i); !ok || info.User.Username != want {
					errs <- fmt.Errorf("round %d %s got the token of %q, want %s", round, u, info.User.Username, want)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

func TestRevokedRefreshTokenNeedsRelink(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	e.fake.SetAccessTokenTTL(60 * time.Second)
	s := e.service(t)
	e.addUser("U1", "alice@contoso.test")
	link(t, e, s, "U1", "alice@contoso.test")
	ctx := context.Background()
	if _, err := s.Token(ctx, team, "U1"); err != nil {
		t.Fatal(err)
	}

	e.fake.RevokeRefreshTokens("alice@contoso.test")
	tok, err := s.Token(ctx, team, "U1")
	if !errors.Is(err, identity.ErrNotLinked) || tok != "" {
		t.Fatalf("Token after revocation = %.12q, %v; want ErrNotLinked", tok, err)
	}
	if !strings.Contains(err.Error(), "not linked") || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("message %q should say not linked and why", err.Error())
	}

	// Signing in again repairs it.
	link(t, e, s, "U1", "alice@contoso.test")
	if _, err := s.Token(ctx, team, "U1"); err != nil {
		t.Fatalf("Token after re-link: %v", err)
	}
}

// An unreachable authority is an outage, not a reason to ask users to re-link.
func TestAuthorityDownIsNotNotLinked(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	e.fake.SetAccessTokenTTL(60 * time.Second) // Token must call the authority
	s := e.service(t)
	e.addUser("U1", "alice@contoso.test")
	link(t, e, s, "U1", "alice@contoso.test")

	e.fake.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, err := s.Token(ctx, team, "U1")
	if err == nil || tok != "" {
		t.Fatalf("Token with the authority down = %.12q, %v; want an error", tok, err)
	}
	if errors.Is(err, identity.ErrNotLinked) {
		t.Fatalf("authority down reported as not linked: %v", err)
	}
	if _, err := s.Linked(ctx, team, "U1"); err != nil {
		t.Fatalf("the link was lost: %v", err)
	}
}

func TestNotLinkedCases(t *testing.T) {
	cases := []struct {
		name string
		// setup leaves U1 in a state where Token must say ErrNotLinked.
		setup func(t *testing.T, e *env, s *identity.Service)
	}{
		{"never linked", func(*testing.T, *env, *identity.Service) {}},
		{"unlinked", func(t *testing.T, e *env, s *identity.Service) {
			link(t, e, s, "U1", "alice@contoso.test")
			if _, err := s.Token(context.Background(), team, "U1"); err != nil {
				t.Fatal(err)
			}
			if err := s.Unlink(context.Background(), team, "U1"); err != nil {
				t.Fatal(err)
			}
			assertNothingStored(t, e, "U1")
		}},
		// The row vanished but the link remains: MSAL's in-memory copy of the
		// (hour-long) access token must not be served.
		{"token cache row gone", func(t *testing.T, e *env, s *identity.Service) {
			link(t, e, s, "U1", "alice@contoso.test")
			if _, err := s.Token(context.Background(), team, "U1"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.db.SQL.Exec(`DELETE FROM identity_token_caches`); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, identity.FlowAuthCode)
			s := e.service(t)
			e.addUser("U1", "alice@contoso.test")
			c.setup(t, e, s)
			tok, err := s.Token(context.Background(), team, "U1")
			if !errors.Is(err, identity.ErrNotLinked) || tok != "" {
				t.Fatalf("Token = %.12q, %v; want ErrNotLinked", tok, err)
			}
		})
	}
}

func TestWhoamiAndLogout(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	s := e.service(t)
	e.addUser("U1", "alice@contoso.test")
	e.addUser("U2", "bob@contoso.test")
	ctx := context.Background()
	if _, err := s.Linked(ctx, team, "U1"); !errors.Is(err, identity.ErrNotLinked) {
		t.Fatalf("Linked before login = %v, want ErrNotLinked", err)
	}
	linkedAt := e.clock.Now()
	link(t, e, s, "U1", "alice@contoso.test")
	link(t, e, s, "U2", "bob@contoso.test")
	e.clock.Advance(time.Hour)
	l, err := s.Linked(ctx, team, "U1")
	if err != nil || l.Username != "alice@contoso.test" || !l.LinkedAt.Equal(linkedAt.UTC().Truncate(time.Millisecond)) {
		t.Fatalf("Linked = %+v, %v; want alice linked at %v", l, err, linkedAt)
	}
	if err := s.Unlink(ctx, team, "U1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Unlink(ctx, team, "U1"); err != nil {
		t.Fatalf("second Unlink: %v", err)
	}
	assertNothingStored(t, e, "U1")
	if tok, err := s.Token(ctx, team, "U2"); err != nil || tokenOwner(t, e.fake, tok) != "bob@contoso.test" {
		t.Fatalf("U2 after U1's logout: %v", err)
	}
}

// A sealed cache row copied onto another user does not open for them.
func TestTokenCacheRowBoundToUser(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	s := e.service(t)
	e.addUser("UA", "alice@contoso.test")
	e.addUser("UB", "bob@contoso.test")
	link(t, e, s, "UA", "alice@contoso.test")
	link(t, e, s, "UB", "bob@contoso.test")
	ctx := context.Background()
	rowA, err := e.db.LoadTokenCache(ctx, team, "UA")
	if err != nil || rowA == nil {
		t.Fatal(err)
	}
	if err := e.db.SaveTokenCache(ctx, team, "UB", rowA); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Token(ctx, team, "UB")
	if err == nil || tok != "" {
		t.Fatalf("UB with UA's row got a token (%s)", tokenOwner(t, e.fake, tok))
	}
	// A row that does not open is useless: the user is told to sign in again.
	if !errors.Is(err, identity.ErrNotLinked) {
		t.Errorf("Token with an unopenable row = %v, want ErrNotLinked", err)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	s := e.service(t)
	ctx := context.Background()
	for _, ids := range [][2]string{{"", "U1"}, {team, ""}, {"T:1", "U1"}, {team, "U1:x"}, {team, strings.Repeat("U", 200)}, {team, "U 1"}} {
		if _, err := s.Token(ctx, ids[0], ids[1]); err == nil || errors.Is(err, identity.ErrNotLinked) {
			t.Errorf("Token(%q, %q) = %v, want an invalid-ID error", ids[0], ids[1], err)
		}
		if _, err := s.StartLogin(ctx, ids[0], ids[1]); err == nil {
			t.Errorf("StartLogin(%q, %q) accepted", ids[0], ids[1])
		}
		if _, err := s.Linked(ctx, ids[0], ids[1]); err == nil {
			t.Errorf("Linked(%q, %q) accepted", ids[0], ids[1])
		}
		if err := s.Unlink(ctx, ids[0], ids[1]); err == nil {
			t.Errorf("Unlink(%q, %q) accepted", ids[0], ids[1])
		}
	}
}

// The database (SQLite file, WAL and all) holds none of the tokens the fake
// issued, nor any sign-in state or PKCE verifier in clear.
func TestDatabaseHoldsNoTokenInClear(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	e.fake.SetAccessTokenTTL(60 * time.Second) // refresh on every call: many refresh tokens
	s := e.service(t)
	ctx := context.Background()
	for i := range 5 {
		u := fmt.Sprintf("U%d", i)
		e.addUser(u, fmt.Sprintf("user%d@contoso.test", i))
		link(t, e, s, u, fmt.Sprintf("user%d@contoso.test", i))
		for range 2 {
			if _, err := s.Token(ctx, team, u); err != nil {
				t.Fatal(err)
			}
		}
	}
	pending, err := s.StartLogin(ctx, team, "U0") // a stored, unredeemed state
	if err != nil {
		t.Fatal(err)
	}
	state := queryOf(t, pending.URL).Get("state")

	var raw []byte
	files, _ := filepath.Glob(e.dbPath + "*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	if len(raw) == 0 {
		t.Fatal("read nothing from the database files")
	}
	issued := e.fake.IssuedTokens()
	var refresh int
	for _, tok := range issued {
		if strings.HasPrefix(tok, "1.AQ") {
			refresh++
		}
		if bytes.Contains(raw, []byte(tok)) {
			t.Errorf("the database holds an issued token in clear: %.16s...", tok)
		}
	}
	if refresh < 10 {
		t.Fatalf("only %d refresh tokens issued; the audit proves little", refresh)
	}
	if bytes.Contains(raw, []byte(state)) {
		t.Error("the database holds a sign-in state in clear")
	}
	if !bytes.Contains(raw, []byte("identity_token_caches")) {
		t.Fatal("the files read are not the database")
	}
}

// BenchmarkToken measures Token for a linked user: served from the sealed
// cache row, and refreshed at the (loopback) authority on every call.
func BenchmarkToken(b *testing.B) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", time.Hour}, {"refresh", 60 * time.Second}} {
		b.Run(c.name, func(b *testing.B) {
			e := newEnv(b, identity.FlowAuthCode)
			e.fake.SetAccessTokenTTL(c.ttl)
			s := e.service(b)
			e.addUser("U1", "alice@contoso.test")
			link(b, e, s, "U1", "alice@contoso.test")
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Token(ctx, team, "U1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
