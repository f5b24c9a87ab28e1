// Package storetest gives tests a fresh PostgreSQL database on the server
// named by MDEBOT_TEST_POSTGRES_DSN (which .ci/run sets), skipping loudly
// when it is not set.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, drop, err := ScratchPostgres(ctx, admin, "mdebot_t_")
	if err != nil {
		t.Fatalf("%s: %v", PostgresDSNEnv, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := drop(ctx); err != nil {
			t.Error(err)
		}
	})
	return dsn
}

// ScratchPostgres creates a database named prefix<random> on the server of
// the admin DSN and returns a DSN pointing at it and the function that drops
// it (forcing out any connection). Errors never quote the DSN (it may hold a
// password). Tests use FreshPostgres; benchmark programs use this.
func ScratchPostgres(ctx context.Context, admin, prefix string) (dsn string, drop func(context.Context) error, err error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	if dsn, err = withDatabase(admin, name); err != nil {
		return "", nil, errors.New("not a valid PostgreSQL URL")
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	// name is ours (prefix and hex), so it is safe to splice into the statement.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop = func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	return dsn, drop, nil
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
