package identity_test

import (
	"context"
	"crypto/rand"
	"errors"
	"github.com/mdebot/mdebot/store/storetest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/store"
)

// onEachStore runs fn with an env on SQLite and, when MDEBOT_TEST_POSTGRES_DSN
// is set, on a fresh PostgreSQL database.
func onEachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, newEnv(t, identity.FlowAuthCode))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := freshPostgres(t)
		e := newEnv(t, identity.FlowAuthCode)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db, err := store.Open(ctx, store.DriverPostgres, dsn)
		if err != nil {
			t.Fatalf("store.Open(postgres): %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
		e.db = db
		fn(t, e)
	})
}

// freshPostgres is a throw-away database on the test server (skips loudly without it).
func freshPostgres(t *testing.T) string { return storetest.FreshPostgres(t) }

func randomKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// serviceWithKey is a fresh Service (no pooled client, nothing in memory)
// on e's store with key.
func serviceWithKey(t *testing.T, e *env, key []byte) *identity.Service {
	t.Helper()
	o := e.options()
	o.Key = key
	s, err := identity.New(o)
	if err != nil {
		t.Fatalf("identity.New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Linked users keep working under the new key without signing in again, a
// pending sign-in completes, and the old key no longer opens anything.
func TestRekeyKeepsUsersLinked(t *testing.T) {
	onEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		oldKey, newKey := e.key, randomKey()
		old := e.service(t)
		e.addUser("U1", "alice@contoso.test")
		e.addUser("U2", "bob@contoso.test")
		e.addUser("U3", "carol@contoso.test")
		link(t, e, old, "U1", "alice@contoso.test")
		// bob's access token expires within MSAL's margin: his next Token
		// must use the refresh token from the rewritten cache.
		e.fake.SetAccessTokenTTL(60 * time.Second)
		link(t, e, old, "U2", "bob@contoso.test")
		// carol is half-way through signing in: her state holds a sealed verifier.
		state, code := signIn(t, e, old, "U3", "carol@contoso.test")

		rep, err := identity.Rekey(ctx, e.db, identity.RekeyOptions{OldKey: oldKey, NewKey: newKey})
		if err != nil {
			t.Fatalf("Rekey: %v", err)
		}
		if rep.Rewritten != 3 || rep.AlreadyNew != 0 || rep.Unreadable != 0 || rep.Dropped != 0 {
			t.Fatalf("report = %+v, want 2 token caches and 1 login state rewritten", rep)
		}

		interactive := tokenRequests(e.fake, "authorization_code")
		refreshes := tokenRequests(e.fake, "refresh_token")
		s := serviceWithKey(t, e, newKey)
		for _, u := range []struct{ slack, ms string }{{"U1", "alice@contoso.test"}, {"U2", "bob@contoso.test"}} {
			tok, err := s.Token(ctx, team, u.slack)
			if err != nil {
				t.Fatalf("Token(%s) with the new key: %v", u.slack, err)
			}
			if got := tokenOwner(t, e.fake, tok); got != u.ms {
				t.Fatalf("Token(%s) is %s's", u.slack, got)
			}
		}
		if got := tokenRequests(e.fake, "refresh_token") - refreshes; got != 1 {
			t.Errorf("%d refresh grants, want 1 (bob's; alice's cached token still valid)", got)
		}
		if got := tokenRequests(e.fake, "authorization_code"); got != interactive {
			t.Errorf("a sign-in happened after the rekey (%d -> %d): tokens were not silent", interactive, got)
		}
		l, err := s.CompleteLogin(ctx, state, code)
		if err != nil || l.Username != "carol@contoso.test" {
			t.Fatalf("CompleteLogin begun before the rekey = %+v, %v; want carol linked", l, err)
		}

		stale := serviceWithKey(t, e, oldKey)
		for _, u := range []string{"U1", "U2", "U3"} {
			if tok, err := stale.Token(ctx, team, u); err == nil || tok != "" {
				t.Errorf("Token(%s) with the old key succeeded after the rekey", u)
			}
		}

		// A second run finds everything under the new key and changes nothing.
		rep, err = identity.Rekey(ctx, e.db, identity.RekeyOptions{OldKey: oldKey, NewKey: newKey, DropUnreadable: true})
		if err != nil {
			t.Fatalf("second Rekey: %v", err)
		}
		if rep.Rewritten != 0 || rep.AlreadyNew != 3 || rep.Unreadable != 0 || rep.Dropped != 0 {
			t.Fatalf("second report = %+v, want 3 already under the new key", rep)
		}
		if _, err := s.Token(ctx, team, "U3"); err != nil {
			t.Fatalf("Token(U3) after the second run: %v", err)
		}
	})
}

// Rows sealed with neither key are counted, named, and kept or dropped.
func TestRekeyUnreadable(t *testing.T) {
	for _, drop := range []bool{false, true} {
		name := map[bool]string{false: "kept", true: "dropped"}[drop]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, identity.FlowAuthCode)
			ctx := context.Background()
			oldKey, strayKey, newKey := e.key, randomKey(), randomKey()
			e.addUser("U1", "alice@contoso.test")
			e.addUser("U2", "bob@contoso.test")
			link(t, e, e.service(t), "U1", "alice@contoso.test")
			link(t, e, serviceWithKey(t, e, strayKey), "U2", "bob@contoso.test")
			strayRow, err := e.db.LoadTokenCache(ctx, team, "U2")
			if err != nil || strayRow == nil {
				t.Fatal(err)
			}

			rep, err := identity.Rekey(ctx, e.db, identity.RekeyOptions{OldKey: oldKey, NewKey: newKey, DropUnreadable: drop})
			if err != nil {
				t.Fatalf("Rekey: %v", err)
			}
			wantDropped := 0
			if drop {
				wantDropped = 1
			}
			if rep.Rewritten != 1 || rep.Unreadable != 1 || rep.Dropped != wantDropped || !slices.Equal(rep.UnreadableUsers, []string{team + ":U2"}) {
				t.Fatalf("report = %+v, want U1 rewritten and U2 unreadable (dropped: %v)", rep, drop)
			}

			s := serviceWithKey(t, e, newKey)
			if _, err := s.Token(ctx, team, "U1"); err != nil {
				t.Fatalf("Token(U1): %v", err)
			}
			row, err := e.db.LoadTokenCache(ctx, team, "U2")
			if err != nil {
				t.Fatal(err)
			}
			if drop {
				assertNothingStored(t, e, "U2")
				if _, err := s.Linked(ctx, team, "U2"); !errors.Is(err, identity.ErrNotLinked) {
					t.Fatalf("Linked(U2) after the drop = %v, want ErrNotLinked", err)
				}
				if _, err := s.Token(ctx, team, "U2"); !errors.Is(err, identity.ErrNotLinked) {
					t.Fatalf("Token(U2) after the drop = %v, want ErrNotLinked (run login)", err)
				}
			} else {
				if string(row) != string(strayRow) {
					t.Fatal("an unreadable row was changed without --drop-unreadable")
				}
				// Still readable with the key it was sealed with.
				if _, err := serviceWithKey(t, e, strayKey).Token(ctx, team, "U2"); err != nil {
					t.Fatalf("Token(U2) with its own key: %v", err)
				}
			}
		})
	}
}

func TestRekeyRefusesBadKeys(t *testing.T) {
	e := newEnv(t, identity.FlowAuthCode)
	ctx := context.Background()
	e.addUser("U1", "alice@contoso.test")
	link(t, e, e.service(t), "U1", "alice@contoso.test")
	before, _ := e.db.LoadTokenCache(ctx, team, "U1")
	k := randomKey()
	for _, c := range []struct {
		name     string
		old, new []byte
		want     string
	}{
		{"same key", k, k, "same"},
		{"short old key", k[:16], randomKey(), "32 bytes"},
		{"no new key", k, nil, "32 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := identity.Rekey(ctx, e.db, identity.RekeyOptions{OldKey: c.old, NewKey: c.new, DropUnreadable: true})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Rekey = %+v, %v; want an error saying %q", rep, err, c.want)
			}
		})
	}
	if after, _ := e.db.LoadTokenCache(ctx, team, "U1"); string(after) != string(before) {
		t.Fatal("a refused rekey changed a row")
	}
}
