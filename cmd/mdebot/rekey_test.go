package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/identity/entratest"
	"github.com/mdebot/mdebot/store"
)

const (
	rekeyTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	rekeyClient = "11111111-2222-3333-4444-555555555555"
	rekeyTeam   = "T0TEAM"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// rekeyWorld is a fake Entra authority and a SQLite database where users
// link through the real identity service.
type rekeyWorld struct {
	fake *entratest.Server
	dsn  string
	db   *store.DB
}

func newRekeyWorld(t *testing.T) *rekeyWorld {
	t.Helper()
	fake := entratest.New(rekeyTenant)
	t.Cleanup(fake.Close)
	fake.AddClient(entratest.Client{ID: rekeyClient, Secret: "s3cret"})
	dsn := "file:" + filepath.Join(t.TempDir(), "mdebot.db")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.DriverSQLite, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return &rekeyWorld{fake: fake, dsn: dsn, db: db}
}

func (w *rekeyWorld) service(t *testing.T, key []byte) *identity.Service {
	t.Helper()
	s, err := identity.New(identity.Options{
		TenantID: rekeyTenant, ClientID: rekeyClient, ClientSecret: "s3cret",
		Authority: w.fake.URL(), RedirectURL: "https://mdebot.example.com/auth/callback",
		Key: key, Store: w.db, HTTPClient: w.fake.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// link signs slackUser in as username through the auth-code flow.
func (w *rekeyWorld) link(t *testing.T, s *identity.Service, slackUser, username string) {
	t.Helper()
	ctx := context.Background()
	w.fake.AddUser(entratest.User{Username: username})
	p, err := s.StartLogin(ctx, rekeyTeam, slackUser)
	if err != nil {
		t.Fatal(err)
	}
	redirect, err := w.fake.Browse(ctx, p.URL, username)
	if err != nil {
		t.Fatal(err)
	}
	// No email lookup here: the sign-in is confirmed as on the callback page.
	state, code := redirect.Query().Get("state"), redirect.Query().Get("code")
	pending, err := s.PendingLogin(ctx, state, code)
	if err != nil || pending == nil {
		t.Fatalf("link %s: %+v, %v", slackUser, pending, err)
	}
	if _, err := s.ConfirmLogin(ctx, state, code, pending.CSRF); err != nil {
		t.Fatalf("link %s: %v", slackUser, err)
	}
}

// storeOnlyConfig is a configuration with nothing but the store: rekey needs no more.
func storeOnlyConfig(t *testing.T, dsn string, key []byte) string {
	t.Helper()
	return writeConfig(t, "store:\n  driver: sqlite\n  dsn: "+dsn+"\n  encryption_key: "+b64(key)+"\n")
}

func TestRekeyCommand(t *testing.T) {
	w := newRekeyWorld(t)
	oldKey, strayKey, nextKey := newKey(t), newKey(t), newKey(t)
	w.link(t, w.service(t, oldKey), "U1", "alice@contoso.test")
	w.link(t, w.service(t, strayKey), "U2", "bob@contoso.test") // sealed with a key nobody has now
	cfg := storeOnlyConfig(t, w.dsn, nextKey)
	t.Setenv(oldKeyEnv, b64(oldKey))

	steps := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"rewrites and reports the unreadable row", []string{"--config", cfg}, 1,
			"rekey: rewrote 1 sealed row with the new key\n",
			"rekey: 1 sealed row open with neither key (token caches of T0TEAM:U2) and were left as they are; check MDEBOT_STORE_OLD_ENCRYPTION_KEY, or run again with --drop-unreadable (those users link again with `/mde-package login`)\n"},
		{"run again: drops it", []string{"--config", cfg, "--drop-unreadable"}, 0,
			"rekey: rewrote 0 sealed rows with the new key; 1 sealed row already under it left as they are\n" +
				"rekey: deleted 1 sealed row that open with neither key (token caches of T0TEAM:U2); those users link again with `/mde-package login`\n",
			""},
		{"run again: nothing to do", []string{"--config", cfg, "--drop-unreadable"}, 0,
			"rekey: rewrote 0 sealed rows with the new key; 1 sealed row already under it left as they are\n", ""},
	}
	for _, s := range steps {
		code, stdout, stderr := runCLI(append([]string{"rekey"}, s.args...)...)
		if code != s.code || stdout != s.stdout || stderr != s.stderr {
			t.Fatalf("%s: exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q", s.name, code, stdout, stderr, s.code, s.stdout, s.stderr)
		}
	}

	ctx := context.Background()
	tok, err := w.service(t, nextKey).Token(ctx, rekeyTeam, "U1")
	if err != nil {
		t.Fatalf("Token(U1) with the new key: %v", err)
	}
	if info, ok := w.fake.Introspect(tok); !ok || info.User.Username != "alice@contoso.test" {
		t.Fatalf("Token(U1) is not alice's: %+v", info)
	}
	if tok, err := w.service(t, oldKey).Token(ctx, rekeyTeam, "U1"); err == nil || tok != "" {
		t.Fatal("the old key still opens U1's tokens")
	}
	if _, err := w.service(t, nextKey).Linked(ctx, rekeyTeam, "U2"); err == nil {
		t.Fatal("U2 is still linked after --drop-unreadable")
	}
}

func TestRekeyCommandRefuses(t *testing.T) {
	w := newRekeyWorld(t)
	oldKey := newKey(t)
	w.link(t, w.service(t, oldKey), "U1", "alice@contoso.test")
	before, err := w.db.LoadTokenCache(context.Background(), rekeyTeam, "U1")
	if err != nil || before == nil {
		t.Fatal(err)
	}
	good := storeOnlyConfig(t, w.dsn, newKey(t))
	notAKey := "c2VjcmV0LXZhbHVlLXRoYXQtaXMtbm90LTMyLWJ5dGVz" // base64 of 32+ bytes of text
	tests := []struct {
		name   string
		args   []string
		oldEnv string
		code   int
		stderr string
	}{
		{"old key missing", []string{"--config", good}, "", 1,
			"MDEBOT_STORE_OLD_ENCRYPTION_KEY: required: the key the rows are sealed with now (store.encryption_key holds the new one)\n"},
		{"old key not 32 bytes", []string{"--config", good}, notAKey, 1,
			"MDEBOT_STORE_OLD_ENCRYPTION_KEY: must be base64 of 32 bytes, like store.encryption_key\n"},
		{"old key not base64", []string{"--config", good}, "not base64!", 1,
			"MDEBOT_STORE_OLD_ENCRYPTION_KEY: must be base64 of 32 bytes, like store.encryption_key\n"},
		{"same keys", []string{"--config", storeOnlyConfig(t, w.dsn, oldKey)}, b64(oldKey), 1,
			"rekey: identity: rekey: the old and new keys are the same (nothing was changed)\n"},
		{"no new key", []string{"--config", writeConfig(t, "store:\n  dsn: "+w.dsn+"\n")}, b64(oldKey), 1,
			"store.encryption_key: required: base64 of 32 random bytes that encrypt token caches (generate one with: openssl rand -base64 32)\n"},
		{"bad new key and no old key", []string{"--config", writeConfig(t, "store:\n  dsn: "+w.dsn+"\n  encryption_key: "+notAKey+"\n")}, "", 1,
			"store.encryption_key: must be base64 of 32 bytes (generate one with: openssl rand -base64 32)\n" +
				"MDEBOT_STORE_OLD_ENCRYPTION_KEY: required: the key the rows are sealed with now (store.encryption_key holds the new one)\n"},
		{"config file missing", []string{"--config", filepath.Join(t.TempDir(), "absent.yaml")}, b64(oldKey), 1,
			"rekey: read config file "},
		{"key as a flag", []string{"--config", good, "--old-key", "x"}, b64(oldKey), 2,
			"flag provided but not defined: -old-key"},
		{"stray argument", []string{"--config", good, "now"}, b64(oldKey), 2,
			`mdebot rekey: unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(oldKeyEnv, tt.oldEnv)
			code, stdout, stderr := runCLI(append([]string{"rekey"}, tt.args...)...)
			if code != tt.code || !strings.HasPrefix(stderr, tt.stderr) || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d and stderr starting %q", code, stdout, stderr, tt.code, tt.stderr)
			}
			if tt.oldEnv != "" && strings.Contains(stderr, tt.oldEnv) {
				t.Fatal("the error quotes the key")
			}
		})
	}
	after, err := w.db.LoadTokenCache(context.Background(), rekeyTeam, "U1")
	if err != nil || string(after) != string(before) {
		t.Fatalf("a refused rekey changed the row (%v)", err)
	}
}

func TestRekeyListedInUsage(t *testing.T) {
	_, stdout, _ := runCLI("help")
	if !strings.Contains(stdout, "rekey ") || !strings.Contains(stdout, oldKeyEnv) {
		t.Fatalf("usage does not list rekey:\n%s", stdout)
	}
}
