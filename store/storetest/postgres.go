// Package storetest gives tests a fresh PostgreSQL database on the server
// named by MDEBOT_TEST_POSTGRES_DSN (which .ci/run sets), skipping loudly
// when it is not set.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresDSNEnv names the admin DSN of the test PostgreSQL server.
const PostgresDSNEnv = "MDEBOT_TEST_POSTGRES_DSN"

// FreshPostgres creates a database named mdebot_t_<random> on the server of
// $MDEBOT_TEST_POSTGRES_DSN, drops it (forcing out any connection) when the
// test ends, and returns a DSN that points at it. Without the variable the
// test is skipped with a message saying so.
func FreshPostgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresDSNEnv)
	if admin == "" {
		t.Skip("MDEBOT_TEST_POSTGRES_DSN is not set: PostgreSQL tests SKIPPED (.ci/run sets it)")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "mdebot_t_" + hex.EncodeToString(b[:])
	dsn, err := withDatabase(admin, name)
	if err != nil {
		// The error would quote the DSN, password included.
		t.Fatalf("%s is not a valid PostgreSQL URL", PostgresDSNEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresDSNEnv, err)
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
