package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/store"
)

// seedSealed stores links and token caches for T1:U1..U3 and one login state.
func seedSealed(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	for _, u := range []string{"U1", "U2", "U3"} {
		if err := db.SaveLink(ctx, identity.Link{Team: "T1", User: u, HomeAccountID: "oid." + u, Username: u + "@x.test", TenantID: "tid", LinkedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveTokenCache(ctx, "T1", u, []byte("old-"+u)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SaveLoginState(ctx, identity.LoginState{ID: "state1", Team: "T1", User: "U9", Sealed: []byte("old-state"), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

func cacheOf(t *testing.T, db *store.DB, user string) []byte {
	t.Helper()
	c, err := db.LoadTokenCache(context.Background(), "T1", user)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRewriteSealed(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seedSealed(t, db)
		// U1 rewritten, U2 dropped, U3 left alone, the login state rewritten.
		answers := map[string]identity.Reseal{
			"U1": {Sealed: []byte("new-U1")},
			"U2": {Drop: true},
			"U3": {},
			"U9": {Sealed: []byte("new-state")},
		}
		var seen []identity.SealedValue
		err := db.RewriteSealed(ctx, func(v identity.SealedValue) (identity.Reseal, error) {
			seen = append(seen, v)
			return answers[v.User], nil
		})
		if err != nil {
			t.Fatalf("RewriteSealed: %v", err)
		}

		want := []identity.SealedValue{
			{Kind: identity.SealedTokenCache, Team: "T1", User: "U1", Sealed: []byte("old-U1")},
			{Kind: identity.SealedTokenCache, Team: "T1", User: "U2", Sealed: []byte("old-U2")},
			{Kind: identity.SealedTokenCache, Team: "T1", User: "U3", Sealed: []byte("old-U3")},
			{Kind: identity.SealedLoginState, ID: "state1", Team: "T1", User: "U9", Sealed: []byte("old-state")},
		}
		if len(seen) != len(want) {
			t.Fatalf("fn saw %d values, want %d: %+v", len(seen), len(want), seen)
		}
		for i, w := range want {
			g := seen[i]
			if g.Kind != w.Kind || g.ID != w.ID || g.Team != w.Team || g.User != w.User || !bytes.Equal(g.Sealed, w.Sealed) {
				t.Errorf("value %d = %+v, want %+v", i, g, w)
			}
		}

		for _, c := range []struct {
			user   string
			cache  []byte // nil: gone
			linked bool
		}{
			{"U1", []byte("new-U1"), true},
			{"U2", nil, false},
			{"U3", []byte("old-U3"), true},
		} {
			if got := cacheOf(t, db, c.user); !bytes.Equal(got, c.cache) || (got == nil) != (c.cache == nil) {
				t.Errorf("cache of %s = %q, want %q", c.user, got, c.cache)
			}
			l, err := db.LoadLink(ctx, "T1", c.user)
			if err != nil || (l != nil) != c.linked {
				t.Errorf("link of %s = %+v, %v; want linked=%v", c.user, l, err, c.linked)
			}
		}
		st, err := db.TakeLoginState(ctx, "state1")
		if err != nil || st == nil || !bytes.Equal(st.Sealed, []byte("new-state")) || st.User != "U9" {
			t.Errorf("login state = %+v, %v; want it rewritten", st, err)
		}
	})
}

func TestRewriteSealedDropsLoginState(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seedSealed(t, db)
		err := db.RewriteSealed(ctx, func(v identity.SealedValue) (identity.Reseal, error) {
			return identity.Reseal{Drop: v.Kind == identity.SealedLoginState}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := db.TakeLoginState(ctx, "state1"); err != nil || st != nil {
			t.Errorf("dropped login state = %+v, %v; want none", st, err)
		}
		if got := cacheOf(t, db, "U1"); !bytes.Equal(got, []byte("old-U1")) {
			t.Errorf("cache of U1 = %q, want it untouched", got)
		}
	})
}

// An error from fn rolls back the rows already rewritten.
func TestRewriteSealedRollsBack(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seedSealed(t, db)
		boom := errors.New("boom")
		err := db.RewriteSealed(ctx, func(v identity.SealedValue) (identity.Reseal, error) {
			switch v.User {
			case "U1":
				return identity.Reseal{Sealed: []byte("new-U1")}, nil
			case "U2":
				return identity.Reseal{Drop: true}, nil
			}
			return identity.Reseal{}, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want fn's error", err)
		}
		for _, u := range []string{"U1", "U2", "U3"} {
			if got := cacheOf(t, db, u); !bytes.Equal(got, []byte("old-"+u)) {
				t.Errorf("cache of %s = %q after a rollback, want old-%s", u, got, u)
			}
			if l, err := db.LoadLink(ctx, "T1", u); err != nil || l == nil {
				t.Errorf("link of %s = %v, %v after a rollback; want kept", u, l, err)
			}
		}
		// The database is usable afterwards (the transaction ended).
		if err := db.SaveTokenCache(ctx, "T1", "U1", []byte("later")); err != nil {
			t.Fatal(err)
		}
	})
}

// A writer on another handle (another replica) waits for the rewrite to
// commit: nothing lands between the rewrite's reads and its writes.
func TestRewriteSealedKeepsWritersOut(t *testing.T) {
	forEachDSN(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		db, other := openDB(t, driver, dsn), openDB(t, driver, dsn)
		seedSealed(t, db)

		done := make(chan error, 1)
		var landedDuring bool
		err := db.RewriteSealed(ctx, func(v identity.SealedValue) (identity.Reseal, error) {
			if v.User == "U1" {
				go func() { done <- other.SaveTokenCache(ctx, "T1", "U1", []byte("concurrent")) }()
				// A write that is not kept out lands well within this.
				select {
				case <-done:
					landedDuring = true
				case <-time.After(300 * time.Millisecond):
				}
				return identity.Reseal{Sealed: []byte("new-U1")}, nil
			}
			return identity.Reseal{}, nil
		})
		if err != nil {
			t.Fatalf("RewriteSealed: %v", err)
		}
		if landedDuring {
			t.Fatal("another handle wrote a token cache while the rewrite's transaction was open")
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("the waiting writer failed: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the waiting writer never finished")
		}
		// It ran after the commit, so its value is the last one.
		if got := cacheOf(t, db, "U1"); !bytes.Equal(got, []byte("concurrent")) {
			t.Errorf("cache of U1 = %q, want the later writer's", got)
		}
	})
}
