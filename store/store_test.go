package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

func TestOpenSQLiteMigratesTwice(t *testing.T) {
	ctx := context.Background()
	dsn := "file:" + filepath.Join(t.TempDir(), "m.db")
	for i := 0; i < 2; i++ {
		db, err := store.Open(ctx, store.DriverSQLite, dsn)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var n int
		if err := db.SQL.QueryRowContext(ctx, `SELECT count(*) FROM river_job`).Scan(&n); err != nil {
			t.Fatalf("river tables missing: %v", err)
		}
		db.Close()
	}
}

// The SQLite settings the durability notes in docs/operations.md rely on:
// WAL with synchronous NORMAL (a commit survives a killed process), unless
// the DSN names its own.
func TestSQLiteDurabilitySettings(t *testing.T) {
	tests := []struct {
		name, params string
		want         int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{
		{"default", "", 1},
		{"operator's choice", "?_pragma=synchronous(FULL)", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, store.DriverSQLite, "file:"+filepath.Join(t.TempDir(), "d.db")+tt.params)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var mode string
			var sync int
			if err := db.SQL.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if err := db.SQL.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
				t.Fatal(err)
			}
			if mode != "wal" || sync != tt.want {
				t.Fatalf("journal_mode %q synchronous %d, want wal and %d", mode, sync, tt.want)
			}
		})
	}
}

// Reopening an existing database (a restart) keeps its data and applies no
// migration twice.
func TestReopenKeepsData(t *testing.T) {
	forEachDSN(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		first, err := store.Open(ctx, driver, dsn)
		if err != nil {
			t.Fatalf("first open: %v", err)
		}
		mustCreate(t, first, fullRequest("kept"))
		if err := first.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		again := openDB(t, driver, dsn)
		got, err := again.GetRequest(ctx, "kept")
		if err != nil {
			t.Fatalf("after reopen: %v", err)
		}
		want := stored(*fullRequest("kept"))
		want.Version = 1
		checkRequest(t, got, want)
	})
}

// Processes starting together on one database migrate one at a time
// (PostgreSQL: migrate.go's advisory lock; SQLite: each migration claims its
// version row first, under SQLite's write lock) and all come up.
func TestOpenConcurrently(t *testing.T) {
	forEachDSN(t, func(t *testing.T, driver, dsn string) {
		ctx := context.Background()
		const n = 3
		var (
			wg   sync.WaitGroup
			dbs  = make([]*store.DB, n)
			errs = make([]error, n)
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dbs[i], errs[i] = store.Open(ctx, driver, dsn)
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Errorf("open %d: %v", i, errs[i])
				continue
			}
			t.Cleanup(func() { _ = dbs[i].Close() })
		}
		if t.Failed() {
			return
		}
		var applied int
		if err := dbs[0].SQL.QueryRowContext(ctx, `SELECT count(*) FROM mdebot_migrations WHERE version = 3`).Scan(&applied); err != nil || applied != 1 {
			t.Errorf("migration 3 recorded %d times (%v), want once", applied, err)
		}
		mustCreate(t, dbs[1], newRequest("shared", "a", handlers.StateReady, t0))
		if _, err := dbs[2].GetRequest(ctx, "shared"); err != nil {
			t.Errorf("another replica cannot read the request: %v", err)
		}
	})
}
