package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/store/storetest"
)

// Upgrading a running deployment to migration 7 keeps the limiter's state:
// the last minute's getPackageUri calls still count and a key queued before
// the upgrade keeps its place (as getPackageUri's, in the first round).
func TestMigration7KeepsLimiterState(t *testing.T) {
	for _, driver := range []string{DriverSQLite, DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			d := rawDB(t, driver)
			ms, err := loadMigrations(driver)
			if err != nil {
				t.Fatal(err)
			}
			var before []migration
			for _, m := range ms {
				if m.version < 7 {
					before = append(before, m)
				}
			}
			conn, err := d.SQL.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := migrateOn(ctx, conn, before); err != nil {
				t.Fatalf("migrations before 7: %v", err)
			}
			now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
			ms0 := now.UnixMilli()
			for _, q := range []string{
				`INSERT INTO limiter_calls (at, key) VALUES (CAST($1 AS BIGINT) - 10000, 'c1'), (CAST($1 AS BIGINT) - 5000, 'c2')`,
				`INSERT INTO limiter_queue (key, joined_at, seen_at, seq) VALUES ('old', CAST($1 AS BIGINT) - 4000, CAST($1 AS BIGINT) - 1000, 1)`,
			} {
				if _, err := conn.ExecContext(ctx, q, ms0); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if err := migrateOn(ctx, conn, ms); err != nil {
				t.Fatalf("migration 7: %v", err)
			}
			conn.Close()
			lim := d.Limiter(mde.BudgetPackageURI, mde.Limits{PerMinute: 2, PerHour: 120}, func() time.Time { return now })
			wait := time.Minute + mde.WindowMargin - 10*time.Second // until c1 leaves the window
			for _, c := range []struct {
				key, user string
				want      mde.Slot
			}{
				{"new", "U2", mde.Slot{Position: 2, Wait: wait + 5*time.Second}},
				{"old", "U1", mde.Slot{Position: 1, Wait: wait}},
			} {
				got, err := lim.Take(ctx, c.key, c.user)
				if err != nil {
					t.Fatal(err)
				}
				if got != c.want {
					t.Errorf("Take(%s) after the upgrade = %+v, want %+v", c.key, got, c.want)
				}
			}
			live := d.Limiter(mde.BudgetLiveResponse, mde.Limits{PerMinute: 10}, func() time.Time { return now })
			if got, err := live.Take(ctx, "old", "U1"); err != nil || !got.Granted {
				t.Errorf("runliveresponse Take = %+v, %v; want granted (its budget is untouched)", got, err)
			}
		})
	}
}

// rawDB opens a fresh database without applying any migration.
func rawDB(t *testing.T, driver string) *DB {
	t.Helper()
	if driver == DriverSQLite {
		db, err := openSQLite("file:" + filepath.Join(t.TempDir(), "m7.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return &DB{SQL: db, Driver: DriverSQLite}
	}
	pool, err := pgxpool.New(context.Background(), storetest.FreshPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	d := &DB{SQL: stdlib.OpenDBFromPool(pool), Driver: DriverPostgres, Pool: pool}
	t.Cleanup(func() { _ = d.Close() })
	return d
}
