package evidence_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mdebot/mdebot/evidence/evidencetest"
	"github.com/mdebot/mdebot/store"
)

// The file store shows the behaviour required of every store that keeps
// packages (evidence/azureblob's tests run the same suite on Azurite).
func TestStores(t *testing.T) {
	db := openDB(t) // the token table, migrated once for every case
	evidencetest.Run(t, func(t *testing.T) *evidencetest.Fixture { return evidencetest.NewFileFixture(t, db) })
}

// openDB is a real, migrated SQLite database, closed when the test ends.
func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.DriverSQLite, "file:"+filepath.Join(t.TempDir(), "mdebot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
