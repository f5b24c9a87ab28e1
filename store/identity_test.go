package store_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/store"
)

func TestTokenCacheRoundTrip(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		steps := []struct {
			name       string
			team, user string
			save       []byte // nil: only load
			want       []byte // nil: no row
		}{
			{name: "none yet", team: "T1", user: "U1"},
			{name: "save", team: "T1", user: "U1", save: []byte{1, 0, 2, 255}, want: []byte{1, 0, 2, 255}},
			{name: "other user has none", team: "T1", user: "U2"},
			{name: "same user, other team has none", team: "T2", user: "U1"},
			{name: "replace", team: "T1", user: "U1", save: []byte("second"), want: []byte("second")},
			{name: "second user", team: "T1", user: "U2", save: []byte("u2"), want: []byte("u2")},
			{name: "first user kept", team: "T1", user: "U1", want: []byte("second")},
		}
		for _, s := range steps {
			if s.save != nil {
				if err := db.SaveTokenCache(ctx, s.team, s.user, s.save); err != nil {
					t.Fatalf("%s: save: %v", s.name, err)
				}
			}
			got, err := db.LoadTokenCache(ctx, s.team, s.user)
			if err != nil {
				t.Fatalf("%s: load: %v", s.name, err)
			}
			if (got == nil) != (s.want == nil) || !bytes.Equal(got, s.want) {
				t.Fatalf("%s: load = %v, want %v", s.name, got, s.want)
			}
		}
	})
}

func TestLinkSaveLoadDelete(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if l, err := db.LoadLink(ctx, "T1", "U1"); err != nil || l != nil {
			t.Fatalf("LoadLink before any = %v, %v; want nil, nil", l, err)
		}
		at := time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
		l1 := identity.Link{Team: "T1", User: "U1", HomeAccountID: "oid1.tid", Username: "a@x.test", TenantID: "tid", LinkedAt: at}
		l2 := identity.Link{Team: "T1", User: "U1", HomeAccountID: "oid2.tid", Username: "b@x.test", TenantID: "tid", LinkedAt: at.Add(time.Hour)}
		other := identity.Link{Team: "T1", User: "U2", HomeAccountID: "oid3.tid", Username: "c@x.test", TenantID: "tid", LinkedAt: at}
		for _, l := range []identity.Link{l1, other} {
			if err := db.SaveLink(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		mustLink(t, db, "T1", "U1", &l1)
		if err := db.SaveLink(ctx, l2); err != nil { // re-link replaces
			t.Fatal(err)
		}
		mustLink(t, db, "T1", "U1", &l2)

		for _, u := range []string{"U1", "U2"} {
			if err := db.SaveTokenCache(ctx, "T1", u, []byte("sealed-"+u)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteLink(ctx, "T1", "U1"); err != nil {
			t.Fatal(err)
		}
		mustLink(t, db, "T1", "U1", nil)
		if c, err := db.LoadTokenCache(ctx, "T1", "U1"); err != nil || c != nil {
			t.Fatalf("token cache after DeleteLink = %q, %v; want none", c, err)
		}
		// The other user is untouched.
		mustLink(t, db, "T1", "U2", &other)
		if c, _ := db.LoadTokenCache(ctx, "T1", "U2"); string(c) != "sealed-U2" {
			t.Fatalf("other user's cache = %q", c)
		}
		if err := db.DeleteLink(ctx, "T1", "U1"); err != nil {
			t.Fatalf("second DeleteLink: %v", err)
		}
	})
}

func mustLink(t *testing.T, db *store.DB, team, user string, want *identity.Link) {
	t.Helper()
	got, err := db.LoadLink(context.Background(), team, user)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case want == nil && got != nil:
		t.Fatalf("LoadLink(%s,%s) = %+v, want none", team, user, got)
	case want == nil:
	case got == nil:
		t.Fatalf("LoadLink(%s,%s) = none, want %+v", team, user, want)
	case *got != *want:
		t.Fatalf("LoadLink(%s,%s) = %+v, want %+v", team, user, got, want)
	}
}

func TestLoginStateIsSingleUse(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		exp := time.Date(2025, 1, 1, 0, 10, 0, 0, time.UTC)
		st := identity.LoginState{ID: "abc123", Team: "T1", User: "U1", Sealed: []byte{9, 8, 7}, ExpiresAt: exp}
		if err := db.SaveLoginState(ctx, st); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveLoginState(ctx, st); err == nil {
			t.Fatal("saving the same state id twice succeeded")
		}
		for range 2 { // peeking leaves it in place
			peek, err := db.PeekLoginState(ctx, "abc123")
			if err != nil || peek == nil || peek.Team != "T1" || peek.User != "U1" || !peek.ExpiresAt.Equal(exp) {
				t.Fatalf("peek = %+v, %v", peek, err)
			}
		}
		got, err := db.TakeLoginState(ctx, "abc123")
		if err != nil || got == nil {
			t.Fatalf("take = %v, %v", got, err)
		}
		if peek, err := db.PeekLoginState(ctx, "abc123"); err != nil || peek != nil {
			t.Fatalf("peek after take = %+v, %v; want nil, nil", peek, err)
		}
		if got.Team != "T1" || got.User != "U1" || !bytes.Equal(got.Sealed, st.Sealed) || !got.ExpiresAt.Equal(exp) || got.ID != st.ID {
			t.Fatalf("take = %+v, want %+v", got, st)
		}
		for _, id := range []string{"abc123", "unknown"} {
			if again, err := db.TakeLoginState(ctx, id); err != nil || again != nil {
				t.Fatalf("take %q = %+v, %v; want nil, nil", id, again, err)
			}
		}
	})
}

// Concurrent callbacks carrying the same state: exactly one takes it.
func TestLoginStateTakenOnceUnderRace(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.SaveLoginState(ctx, identity.LoginState{ID: "race", Team: "T", User: "U", Sealed: []byte{1},
			ExpiresAt: time.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var won, failed atomic.Int32
		for range 16 {
			wg.Go(func() {
				st, err := db.TakeLoginState(ctx, "race")
				switch {
				case err != nil:
					failed.Add(1)
					t.Error(err)
				case st != nil:
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 || failed.Load() != 0 {
			t.Fatalf("%d callers took the state (%d errors), want exactly 1", won.Load(), failed.Load())
		}
	})
}

func TestSaveLoginStatePurgesLongExpired(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		states := []struct {
			id      string
			expires time.Time
			kept    bool
		}{
			{"stale", now.Add(-48 * time.Hour), false},
			{"recently-expired", now.Add(-time.Hour), true}, // still refused as expired, not unknown
			{"live", now.Add(5 * time.Minute), true},
			{"new", now.Add(10 * time.Minute), true}, // saved last: triggers the purge
		}
		for _, s := range states {
			if err := db.SaveLoginState(ctx, identity.LoginState{ID: s.id, Team: "T", User: "U", Sealed: []byte{1}, ExpiresAt: s.expires}); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range states {
			st, err := db.TakeLoginState(ctx, s.id)
			if err != nil {
				t.Fatal(err)
			}
			if (st != nil) != s.kept {
				t.Errorf("state %s present = %v, want %v", s.id, st != nil, s.kept)
			}
		}
	})
}
