package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
	_ = os.Getenv
}
