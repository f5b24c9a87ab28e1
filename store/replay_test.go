package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdebot/mdebot/store"
)

func TestFirstSeen(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		until := t0.Add(5 * time.Minute)
		later := until.Add(5 * time.Minute)
		steps := []struct {
			name       string
			key        string
			until, now time.Time
			want       bool
		}{
			{"new key", "k1", until, t0, true},
			{"replay in the window", "k1", until, t0.Add(time.Minute), false},
			{"another key", "k2", until, t0, true},
			{"seen again when its window ended", "k1", later, until, true},
			{"and then held for the new window", "k1", later, until.Add(time.Second), false},
		}
		for _, s := range steps {
			got, err := db.FirstSeen(ctx, s.key, s.until, s.now)
			if err != nil || got != s.want {
				t.Errorf("%s: FirstSeen = %v, %v; want %v", s.name, got, err, s.want)
			}
		}
		if _, err := db.FirstSeen(ctx, "", until, t0); err == nil {
			t.Error("FirstSeen of an empty key succeeded")
		}
		if err := db.ForgetReplays(ctx, until.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if got, err := db.FirstSeen(ctx, "k2", until, until.Add(2*time.Second)); err != nil || !got {
			t.Errorf("FirstSeen after ForgetReplays = %v, %v; want true", got, err)
		}
	})
}

// Two replicas receiving the same signed request at once: exactly one acts.
func TestFirstSeenRace(t *testing.T) {
	forEachDSN(t, func(t *testing.T, driver, dsn string) {
		a, b := openDB(t, driver, dsn), openDB(t, driver, dsn)
		for i := range 20 {
			key := "race-" + string(rune('a'+i))
			var wins atomic.Int32
			var wg sync.WaitGroup
			for _, db := range []*store.DB{a, b, a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if ok, err := db.FirstSeen(context.Background(), key, t0.Add(time.Hour), t0); err != nil {
						t.Error(err)
					} else if ok {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if n := wins.Load(); n != 1 {
				t.Fatalf("key %s: %d first sightings, want 1", key, n)
			}
		}
	})
}

// A SQLite file opened by one process only says so; a second handle on the
// same file (as a second process would hold) is not alone.
func TestSoleProcess(t *testing.T) {
	dsn := "file:" + t.TempDir() + "/mdebot.db"
	first := openDB(t, store.DriverSQLite, dsn)
	if !first.Sole() {
		t.Error("the first handle on a fresh file is not sole")
	}
	second := openDB(t, store.DriverSQLite, dsn)
	if second.Sole() {
		t.Error("a second handle while the first is open claims to be sole")
	}
	first.Close()
	second.Close()
	third := openDB(t, store.DriverSQLite, dsn)
	if !third.Sole() {
		t.Error("a handle opened after the others closed is not sole")
	}
}
