package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mdebot/mdebot/store"
)

// postgresDSNEnv names the admin DSN of the test PostgreSQL server; .ci/run sets it.
const postgresDSNEnv = "MDEBOT_TEST_POSTGRES_DSN"

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

// freshPostgres creates a database named mdebot_t_<random> on the server of
// $MDEBOT_TEST_POSTGRES_DSN, drops it (forcing out any connection) when the
// test ends, and returns a DSN that points at it.
func freshPostgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(postgresDSNEnv)
	if admin == "" {
		t.Skip("MDEBOT_TEST_POSTGRES_DSN is not set: PostgreSQL store tests SKIPPED (.ci/run sets it)")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "mdebot_t_" + hex.EncodeToString(b[:])
	dsn, err := withDatabase(admin, name)
	if err != nil {
		// The error would quote the DSN, password included.
		t.Fatalf("%s is not a valid PostgreSQL URL", postgresDSNEnv)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", postgresDSNEnv, err)
	}
	defer conn.Close(context.Background())
	// name is ours (hex), so it is safe to splice into the statement.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return dsn
}

// withDatabase returns dsn (URL or keyword/value form) pointing at database name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	// Keyword/value form: the last dbname wins.
	return dsn + " dbname=" + name, nil
}
