package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mdebot/mdebot/store"
)

// plan is a statement of the store's, copied here for EXPLAIN only (the
// store builds them internally; keep these in step when they change).
type plan struct {
	name, sql string
	args      []any
}

func printPlans(ctx context.Context, db *store.DB, ws *working, now time.Time) error {
	ms := now.UnixMilli()
	plans := []plan{
		{"ListRequests(active)", `SELECT * FROM requests WHERE state IN ('received', 'awaiting_confirmation',
			'awaiting_approval', 'approved', 'waiting', 'ready', 'fetching') ORDER BY created_at, id`, nil},
		{"ListUntold", `SELECT * FROM requests WHERE told_at = 0 AND state IN ('delivered', 'failed', 'denied',
			'expired', 'cancelled') ORDER BY created_at, id`, nil},
		{"UpdateRequest (by id and version)", `UPDATE requests SET polls = polls + 1 WHERE id = $1 AND version = $2 AND state = $3`,
			[]any{ws.card, 1, "awaiting_approval"}},
		{"Decisions", `SELECT * FROM decisions WHERE request_id = $1 ORDER BY at, approver`, []any{ws.card}},
		{"EachAudit page", `SELECT * FROM audit_events WHERE (at, id) > ($1, $2) ORDER BY at, id LIMIT 1000`,
			[]any{ms - time.Hour.Milliseconds(), -1}},
		{"RecentRequests", `SELECT * FROM requests WHERE team = $1 AND requester = $2 ORDER BY created_at DESC, id DESC LIMIT 10`,
			[]any{team, targetUser}},
		{"CountPending", `SELECT COUNT(*) FROM requests WHERE team = $1 AND requester = $2 AND state IN ('received',
			'awaiting_confirmation', 'awaiting_approval', 'approved', 'waiting', 'ready', 'fetching')`, []any{team, targetUser}},
		{"PurgeRequests batch", `SELECT id FROM requests WHERE told_at > 0 AND told_at < $1 AND state IN ('delivered',
			'failed', 'denied', 'expired', 'cancelled') LIMIT 500`, []any{ms - 30*24*time.Hour.Milliseconds()}},
		{"PurgeAudit batch", `DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < $1
			ORDER BY at, id LIMIT 5000)`, []any{int64(0)}},
	}
	fmt.Println("\nquery plans on the full store")
	for _, p := range plans {
		prefix := "EXPLAIN QUERY PLAN "
		if db.Driver == store.DriverPostgres {
			prefix = "EXPLAIN (COSTS OFF) "
		}
		rows, err := db.SQL.QueryContext(ctx, prefix+p.sql, p.args...)
		if err != nil {
			return fmt.Errorf("explain %s: %w", p.name, err)
		}
		cols, _ := rows.Columns()
		fmt.Printf("\n%s:\n", p.name)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
			// SQLite: id, parent, notused, detail; PostgreSQL: one text column.
			fmt.Printf("    %s\n", strings.TrimSpace(fmt.Sprint(vals[len(vals)-1])))
		}
		rows.Close()
	}
	return nil
}
