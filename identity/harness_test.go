package identity_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/identity/entratest"
	"github.com/mdebot/mdebot/store"
)

const (
	tenantID     = "7f3c2a10-4b5e-4c8d-9e0f-1a2b3c4d5e6f"
	otherTenant  = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"
	clientID     = "2b1c0d9e-8f7a-4b6c-9d5e-4f3a2b1c0d9e"
	clientSecret = "fake-client-secret-value"
	team         = "T0TEAM"
	redirectURL  = "https://mdebot.example.test/auth/callback"
)

// emails stands in for Slack's users.info: the profile email of each user.
type emails struct {
	mu sync.Mutex
	m  map[string]string
}

func (e *emails) UserEmail(_ context.Context, team, user string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	email, ok := e.m[team+"/"+user]
	if !ok {
		return "", fmt.Errorf("users.info: user_not_found")
	}
	return email, nil
}

func (e *emails) set(team, user, email string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[team+"/"+user] = email
}

// clock is an injectable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a fake authority, a real SQLite store and what a Service needs.
type env struct {
	fake   *entratest.Server
	dbPath string
	db     *store.DB
	emails *emails
	clock  *clock
	key    []byte
	flow   string
	// mod adjusts the options of every Service this env builds.
	mod func(*identity.Options)
}

func newEnv(t testing.TB, flow string) *env {
	t.Helper()
	fake := entratest.New(tenantID)
	t.Cleanup(fake.Close)
	fake.AddClient(entratest.Client{ID: clientID, Secret: clientSecret})
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	e := &env{
		fake:   fake,
		dbPath: filepath.Join(t.TempDir(), "mdebot.db"),
		emails: &emails{m: map[string]string{}},
		clock:  &clock{t: time.Now()},
		key:    key,
		flow:   flow,
	}
	e.db = e.openDB(t)
	return e
}

func (e *env) openDB(t testing.TB) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.DriverSQLite, "file:"+e.dbPath)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func (e *env) options() identity.Options {
	o := identity.Options{
		TenantID:          tenantID,
		ClientID:          clientID,
		ClientSecret:      clientSecret,
		Authority:         e.fake.URL(),
		Flow:              e.flow,
		RedirectURL:       redirectURL,
		RequireEmailMatch: true,
		Key:               e.key,
		Store:             e.db,
		Emails:            e.emails,
		HTTPClient:        e.fake.Client(),
		Logger:            slog.New(slog.DiscardHandler),
		Now:               e.clock.Now,
	}
	if e.mod != nil {
		e.mod(&o)
	}
	return o
}

func (e *env) service(t testing.TB) *identity.Service {
	t.Helper()
	s, err := identity.New(e.options())
	if err != nil {
		t.Fatalf("identity.New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// addUser adds a Microsoft account and gives the Slack user the same email.
func (e *env) addUser(slackUser, username string) {
	e.fake.AddUser(entratest.User{Username: username})
	e.emails.set(team, slackUser, username)
}

// signIn starts an auth-code login for slackUser and signs in at the link
// as username; it returns the callback's state and code.
func signIn(t testing.TB, e *env, s *identity.Service, slackUser, username string) (state, code string) {
	t.Helper()
	ctx := context.Background()
	p, err := s.StartLogin(ctx, team, slackUser)
	if err != nil {
		t.Fatalf("StartLogin(%s): %v", slackUser, err)
	}
	if p.Flow != identity.FlowAuthCode || p.Wait != nil {
		t.Fatalf("prompt = %+v, want an auth_code link", p)
	}
	redirect, err := e.fake.Browse(ctx, p.URL, username)
	if err != nil {
		t.Fatalf("Browse as %s: %v", username, err)
	}
	if got := redirect.Scheme + "://" + redirect.Host + redirect.Path; got != redirectURL {
		t.Fatalf("redirected to %s, want %s", got, redirectURL)
	}
	return redirect.Query().Get("state"), redirect.Query().Get("code")
}

// link links slackUser to username through the auth-code flow.
func link(t testing.TB, e *env, s *identity.Service, slackUser, username string) *identity.Link {
	t.Helper()
	state, code := signIn(t, e, s, slackUser, username)
	l, err := s.CompleteLogin(context.Background(), state, code)
	if err != nil {
		t.Fatalf("CompleteLogin(%s as %s): %v", slackUser, username, err)
	}
	return l
}

// tokenRequests counts token-endpoint requests of a grant type.
func tokenRequests(fake *entratest.Server, grant string) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Endpoint == "token" && r.GrantType == grant {
			n++
		}
	}
	return n
}

// tokenOwner is the username an access token was issued to.
func tokenOwner(t testing.TB, fake *entratest.Server, tok string) string {
	t.Helper()
	info, ok := fake.Introspect(tok)
	if !ok {
		t.Fatalf("token %.12s... was not issued by the fake", tok)
	}
	return info.User.Username
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantLinkError(t testing.TB, err error, target error, slackUser string) *identity.LinkError {
	t.Helper()
	var le *identity.LinkError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v (%T), want *identity.LinkError", err, err)
	}
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want it to wrap %v", err, target)
	}
	if le.Team != team || le.User != slackUser {
		t.Fatalf("LinkError for %s/%s, want %s/%s", le.Team, le.User, team, slackUser)
	}
	return le
}

// assertNothingStored: no link and no token cache for the user.
func assertNothingStored(t testing.TB, e *env, slackUser string) {
	t.Helper()
	ctx := context.Background()
	if l, err := e.db.LoadLink(ctx, team, slackUser); err != nil || l != nil {
		t.Fatalf("link of %s = %+v, %v; want none", slackUser, l, err)
	}
	if c, err := e.db.LoadTokenCache(ctx, team, slackUser); err != nil || c != nil {
		t.Fatalf("token cache of %s exists (%d bytes, %v); want none", slackUser, len(c), err)
	}
}

func queryOf(t testing.TB, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func hasAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, s := range list {
			if strings.EqualFold(s, w) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func entratestUser(username, tenant string) entratest.User {
	return entratest.User{Username: username, TenantID: tenant}
}
