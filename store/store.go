// Package store persists mdebot's state in SQLite (embedded default, pure Go)
// or PostgreSQL (pgx v5), with the same SQL for both where it can, embedded
// migrations applied at start, and River's tables beside ours.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers database/sql driver "sqlite"
)

// Drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// DB is an open database with mdebot's and River's migrations applied.
type DB struct {
	// SQL is the database/sql handle used by the store (on PostgreSQL it
	// shares Pool's connections).
	SQL *sql.DB
	// Driver is DriverSQLite or DriverPostgres.
	Driver string
	// Pool is the pgx pool (PostgreSQL only), for River's pgx v5 driver.
	Pool *pgxpool.Pool
	// path is the SQLite file (empty for PostgreSQL or an in-memory database).
	path string
	// sole: no other process had this SQLite file open when it was opened.
	sole bool
	// unlock releases the run lock (SQLite files only).
	unlock func()
}

// Open connects, applies migrations (safe when replicas start together) and
// returns the database. dsn for SQLite is "file:PATH"; for PostgreSQL a pgx DSN.
func Open(ctx context.Context, driver, dsn string) (*DB, error) {
	var d *DB
	switch driver {
	case DriverSQLite, "":
		db, err := openSQLite(dsn)
		if err != nil {
			return nil, err
		}
		d = &DB{SQL: db, Driver: DriverSQLite, path: sqlitePath(dsn)}
	case DriverPostgres:
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("store: postgres: %w", err)
		}
		d = &DB{SQL: stdlib.OpenDBFromPool(pool), Driver: DriverPostgres, Pool: pool}
	default:
		return nil, fmt.Errorf("store: unknown driver %q", driver)
	}
	if d.path != "" {
		// Processes opening one SQLite file together connect and migrate one
		// at a time: the first connection's switch to WAL does not wait on
		// the busy timeout.
		unlock, err := lockFile(d.path + ".migrate-lock")
		if err != nil {
			_ = d.Close()
			return nil, err
		}
		defer unlock()
	}
	if err := d.SQL.PingContext(ctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := d.migrate(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	if d.path != "" {
		sole, unlock, err := holdRunLock(d.path + ".run-lock")
		if err != nil {
			_ = d.Close()
			return nil, err
		}
		d.sole, d.unlock = sole, unlock
	}
	return d, nil
}

// Sole reports that this is a SQLite file no other process had open when it
// was opened, so work the database records as running belongs to a process
// that died. Always false for PostgreSQL, where replicas share the database.
func (d *DB) Sole() bool { return d.sole }

// openSQLite opens a SQLite file with WAL and a busy timeout, one connection
// (SQLite has one writer; more connections only produce SQLITE_BUSY).
func openSQLite(dsn string) (*sql.DB, error) {
	if !strings.HasPrefix(dsn, "file:") {
		return nil, errors.New("store: sqlite dsn must start with file:")
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	// The busy timeout first: the driver applies pragmas in order, and
	// switching to WAL takes a lock that processes opening together contend for.
	if !strings.Contains(dsn, "busy_timeout") {
		dsn += sep + "_pragma=busy_timeout(5000)"
		sep = "&"
	}
	if !strings.Contains(dsn, "journal_mode") {
		dsn += sep + "_pragma=journal_mode(WAL)"
		sep = "&"
	}
	if !strings.Contains(dsn, "foreign_keys") {
		dsn += sep + "_pragma=foreign_keys(1)"
		sep = "&"
	}
	if !strings.Contains(dsn, "synchronous") {
		// NORMAL in WAL mode: a commit is in the WAL in the OS before it
		// returns, so it survives the process being killed; only an OS crash
		// or power loss can lose the last commits (never corrupt the file).
		// FULL would fsync every commit, which intake pays for on every ack.
		dsn += sep + "_pragma=synchronous(NORMAL)"
		sep = "&"
	}
	if !strings.Contains(dsn, "_txlock") {
		// BEGIN IMMEDIATE: a transaction holds the write lock from its start,
		// so read-then-write transactions (the limiter's) serialise across processes.
		dsn += sep + "_txlock=immediate"
	}
	plain, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	drv := plain.Driver()
	plain.Close() // it opened no connection: only the driver was wanted
	db := sql.OpenDB(stmtCacheConnector{drv: drv, dsn: dsn})
	db.SetMaxOpenConns(1)
	return db, nil
}

// sqlitePath is the file of a "file:PATH?params" DSN ("" for memory databases).
func sqlitePath(dsn string) string {
	p, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if p == "" || strings.Contains(p, ":memory:") {
		return ""
	}
	return p
}

// Ping checks the database answers (for /readyz).
func (d *DB) Ping(ctx context.Context) error { return d.SQL.PingContext(ctx) }

// Close closes the handle and, on PostgreSQL, the pool.
func (d *DB) Close() error {
	err := d.SQL.Close()
	if d.Pool != nil {
		d.Pool.Close()
	}
	if d.unlock != nil {
		d.unlock()
	}
	return err
}
