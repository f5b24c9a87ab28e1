package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mdebot/mdebot/store"
	"github.com/mdebot/mdebot/store/storetest"
)

// forEachDB runs fn as subtests "sqlite" and "postgres", each on a fresh,
// migrated database that is removed when the subtest ends.
func forEachDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	forEachDSN(t, func(t *testing.T, driver, dsn string) {
		fn(t, openDB(t, driver, dsn))
	})
}

// forEachDSN is forEachDB for tests that open several handles on one
// database (as replicas do): fn gets the driver and DSN of a fresh database.
func forEachDSN(t *testing.T, fn func(t *testing.T, driver, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, store.DriverSQLite, "file:"+filepath.Join(t.TempDir(), "mdebot.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, store.DriverPostgres, freshPostgres(t))
	})
}

// openDB opens (and migrates) a handle closed when the test ends.
func openDB(t testing.TB, driver, dsn string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, driver, dsn)
	if err != nil {
		t.Fatalf("store.Open(%s): %v", driver, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// freshPostgres is storetest.FreshPostgres (shared with the end-to-end tests).
func freshPostgres(t testing.TB) string { return storetest.FreshPostgres(t) }
