package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// The statement cache serves repeated statements, a statement whose rows are
// still open (prepared afresh beside it), and evictions, including of a
// statement whose rows are still being read.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := openSQLite("file:" + filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (n) VALUES ($1)`, i); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const q = `SELECT n FROM t WHERE n >= $1 ORDER BY n`
	rows, err := conn.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	// While those rows are open: the same statement again, and more distinct
	// ones than the cache holds, so the open one is evicted.
	var got int
	if err := conn.QueryRowContext(ctx, q, 3).Scan(&got); err != nil || got != 3 {
		t.Fatalf("same statement while its rows are open: %d, %v", got, err)
	}
	for i := range stmtCacheSize + 10 {
		var n int
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) + %d FROM t`, i)).Scan(&n); err != nil || n != 5+i {
			t.Fatalf("statement %d: %d, %v", i, n, err)
		}
	}
	var all []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		all = append(all, n)
	}
	if err := rows.Close(); err != nil {
		t.Fatalf("closing rows of an evicted statement: %v", err)
	}
	if fmt.Sprint(all) != "[0 1 2 3 4]" {
		t.Fatalf("rows read across evictions: %v", all)
	}
	// Repeated statements with other arguments still answer correctly.
	for i := range 5 {
		if err := conn.QueryRowContext(ctx, q, i).Scan(&got); err != nil || got != i {
			t.Fatalf("repeat %d: %d, %v", i, got, err)
		}
		if _, err := conn.ExecContext(ctx, `UPDATE t SET n = n WHERE n = $1`, i); err != nil {
			t.Fatal(err)
		}
	}
	cc := 0
	if err := conn.Raw(func(c any) error { cc = len(c.(*cachingConn).byQuery); return nil }); err != nil {
		t.Fatal(err)
	}
	if cc == 0 || cc > stmtCacheSize {
		t.Fatalf("cache holds %d statements, want 1 to %d", cc, stmtCacheSize)
	}
}
