// Command history measures whether the store's frequent operations stay
// flat as history grows: each runs on an "empty" store (only the live
// working set: active requests, a busy last hour of audit events, one
// user's latest requests) and on a "full" one (the same working set plus
// -requests ended requests and -audit audit events of the past year), and
// the table gives the median of each and their ratio (the goal: at most 2).
//
//	go run ./bench/history -driver sqlite
//	go run ./bench/history -driver postgres -dsn postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// For PostgreSQL -dsn names a server: the program creates two scratch
// databases there and drops them at the end. SQLite files go to a
// temporary directory.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mdebot/mdebot/store"
	"github.com/mdebot/mdebot/store/storetest"
)

func main() { os.Exit(cli()) }

func cli() int {
	driver := flag.String("driver", store.DriverSQLite, "sqlite or postgres")
	dsn := flag.String("dsn", "", "postgres: a server DSN (scratch databases are created and dropped there)")
	requests := flag.Int("requests", 100_000, "ended requests in the full store's history")
	audit := flag.Int("audit", 1_000_000, "audit events in the full store's history")
	runs := flag.Int("runs", 201, "timed runs of each operation on each store (the median is reported)")
	explain := flag.Bool("explain", true, "print each query's plan on the full store")
	purge := flag.Bool("purge", true, "finally time purging the full store's history (retention's first run)")
	flag.Parse()
	if *driver != store.DriverSQLite && *driver != store.DriverPostgres {
		fmt.Fprintln(os.Stderr, "history: -driver must be sqlite or postgres")
		return 2
	}
	if *driver == store.DriverPostgres && *dsn == "" {
		fmt.Fprintln(os.Stderr, "history: -driver postgres needs -dsn (a server where scratch databases may be created)")
		return 2
	}
	if *requests < 0 || *audit < 0 || *runs < 1 {
		fmt.Fprintln(os.Stderr, "history: -requests and -audit must not be negative, -runs at least 1")
		return 2
	}
	ctx := context.Background()
	empty, full, cleanup, err := openPair(ctx, *driver, *dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "history:", err)
		return 1
	}
	defer cleanup()
	if err := run(ctx, empty, full, *requests, *audit, *runs, *explain, *purge); err != nil {
		fmt.Fprintln(os.Stderr, "history:", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, empty, full *store.DB, requests, audit, runs int, explain, purge bool) error {
	args := strings.Join(os.Args[1:], " ")
	if i := strings.Index(args, "-dsn"); i >= 0 {
		args = args[:i] + "-dsn …" // the DSN may hold a password
	}
	fmt.Printf("command: go run ./bench/history %s\n", args)
	fmt.Printf("machine: %d CPUs, %s, %s/%s; driver %s\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, full.Driver)
	now := time.Now()
	ws := workingSet(now)
	for _, db := range []*store.DB{empty, full} {
		if err := ws.seed(ctx, db); err != nil {
			return fmt.Errorf("working set: %w", err)
		}
	}
	fmt.Printf("working set (both stores): %d active requests, %d ended and untold, %d latest of user %s, %d audit events in the last hour\n",
		ws.active, ws.untold, ws.recent, targetUser, ws.hourEvents)
	start := time.Now()
	if err := fillRequests(ctx, full, requests, now); err != nil {
		return fmt.Errorf("fill requests: %w", err)
	}
	tr := time.Since(start)
	start = time.Now()
	if err := fillAudit(ctx, full, audit, now); err != nil {
		return fmt.Errorf("fill audit: %w", err)
	}
	ta := time.Since(start)
	fmt.Printf("history (full store only): %d ended requests in %.1f s, %d audit events in %.1f s\n",
		requests, tr.Seconds(), audit, ta.Seconds())
	if size, err := dbSize(ctx, full); err == nil {
		fmt.Printf("full store size: %.0f MB\n", float64(size)/1e6)
	}
	if full.Driver == store.DriverPostgres {
		// Autovacuum does this on its own shortly after such a load (PostgreSQL
		// 13 and later vacuum after inserts too).
		if _, err := full.SQL.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
			return err
		}
		fmt.Println("PostgreSQL: VACUUM ANALYZE after the load (autovacuum does the same on its own)")
	} else {
		fmt.Println("SQLite: no ANALYZE (the bot never runs it): plans come from the indexes alone")
	}
	ops := operations(ws, now)
	res, err := measure(ctx, empty, full, ops, runs)
	if err != nil {
		return err
	}
	printTable(res, runs)
	if explain {
		if err := printPlans(ctx, full, ws, now); err != nil {
			return err
		}
	}
	if purge {
		return timePurge(ctx, full, now)
	}
	return nil
}

// openPair opens the empty and the full store: two SQLite files in a
// temporary directory, or two scratch databases on a PostgreSQL server.
func openPair(ctx context.Context, driver, server string) (empty, full *store.DB, cleanup func(), err error) {
	var dsns []string
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	if driver == store.DriverSQLite {
		dir, err := os.MkdirTemp("", "mdebot-history-")
		if err != nil {
			return nil, nil, cleanup, err
		}
		undo = append(undo, func() { os.RemoveAll(dir) })
		dsns = []string{"file:" + filepath.Join(dir, "empty.db"), "file:" + filepath.Join(dir, "full.db")}
	} else {
		for range 2 {
			dsn, drop, err := storetest.ScratchPostgres(ctx, server, "mdebot_bench_")
			if err != nil {
				cleanup()
				return nil, nil, nil, fmt.Errorf("postgres: %w", err)
			}
			undo = append(undo, func() {
				if err := drop(context.Background()); err != nil {
					fmt.Fprintln(os.Stderr, "history:", err)
				}
			})
			dsns = append(dsns, dsn)
		}
	}
	var dbs []*store.DB
	for _, dsn := range dsns {
		db, err := store.Open(ctx, driver, dsn)
		if err != nil {
			cleanup()
			return nil, nil, nil, err
		}
		undo = append(undo, func() { db.Close() })
		dbs = append(dbs, db)
	}
	return dbs[0], dbs[1], cleanup, nil
}

// dbSize is the database's size in bytes (SQLite: pages in use, WAL excluded).
func dbSize(ctx context.Context, db *store.DB) (int64, error) {
	var n int64
	q := `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`
	if db.Driver == store.DriverPostgres {
		q = `SELECT pg_database_size(current_database())`
	}
	err := db.SQL.QueryRowContext(ctx, q).Scan(&n)
	return n, err
}
