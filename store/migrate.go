package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// Migrations live in migrations/<driver>/NNNN_name.sql, one directory per
// dialect; files are applied in number order, each in its own transaction.
//
//go:embed migrations
var migrationFiles embed.FS

// migrationLockKey serialises migrations between replicas starting together
// (PostgreSQL advisory lock; SQLite serialises writers by itself).
const migrationLockKey = 0x6d6465626f74 // "mdebot"

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(driver string) ([]migration, error) {
	dir := "migrations/" + driver
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration %s: name must be NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(migrationFiles, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("store: two migrations numbered %d", ms[i].version)
		}
	}
	return ms, nil
}

func (d *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(d.Driver)
	if err != nil {
		return err
	}
	// One pinned connection holds the advisory lock for the whole run.
	conn, err := d.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if d.Driver == DriverSQLite {
		// Processes sharing the file migrate one at a time (River's own
		// migrations included), under a lock file beside the database.
		// Open holds the file's migration lock around this (lockFile).
		// SQLite has one connection: release it before River migrates.
		if err := migrateOn(ctx, conn, ms); err != nil {
			conn.Close()
			return err
		}
		conn.Close()
		return d.migrateRiver(ctx)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return fmt.Errorf("store: migrate: lock: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	}()
	if err := migrateOn(ctx, conn, ms); err != nil {
		return err
	}
	return d.migrateRiver(ctx)
}

// migrateOn applies the migrations not yet recorded on conn.
func migrateOn(ctx context.Context, conn *sql.Conn, ms []migration) error {
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS mdebot_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, `SELECT version FROM mdebot_migrations`)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if err := applyMigration(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migration %s: %w", m.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	// Claim the version first: the write takes SQLite's lock, so a second
	// process starting on the same file waits, then finds it applied.
	res, err := tx.ExecContext(ctx, `INSERT INTO mdebot_migrations (version, name, applied_at) VALUES ($1, $2, $3)
		ON CONFLICT (version) DO NOTHING`, m.version, m.name, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("store: migration %s: %w", m.name, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("store: migration %s: %w", m.name, err)
	}
	return tx.Commit()
}

// migrateRiver creates or upgrades River's own tables.
func (d *DB) migrateRiver(ctx context.Context) error {
	var err error
	switch d.Driver {
	case DriverSQLite:
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(riversqlite.New(d.SQL), nil); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	case DriverPostgres:
		m, merr := rivermigrate.New(riverpgxv5.New(d.Pool), nil)
		if err = merr; err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("store: river migrations: %w", err)
	}
	return nil
}
