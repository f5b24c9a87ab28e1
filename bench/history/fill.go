package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

// The history is written with prepared multi-row INSERTs of rowsPerInsert
// rows, many per transaction: one row per statement and per commit would
// take hours for a million rows. Not more rows per statement: the SQLite
// driver's binding grows faster than the number of parameters (500-row
// statements loaded 10 times slower than 50-row ones).
const (
	rowsPerInsert = 50
	rowsPerTx     = 50_000
)

// history spans this much time before the working set.
const historySpan = 400 * 24 * time.Hour

var endStates = []handlers.State{handlers.StateDelivered, handlers.StateDelivered, handlers.StateDelivered,
	handlers.StateDelivered, handlers.StateDelivered, handlers.StateDelivered, handlers.StateDelivered,
	handlers.StateFailed, handlers.StateDenied, handlers.StateExpired, handlers.StateCancelled}

// fillRequests adds n ended and told requests created over historySpan up
// to two days ago, by 50 users; one in five has two approvers' decisions.
func fillRequests(ctx context.Context, db *store.DB, n int, now time.Time) error {
	rng := rand.New(rand.NewPCG(7, 7))
	newest := now.Add(-48 * time.Hour)
	cols := []string{"id", "team", "channel", "channel_name", "requester", "kind", "action_id", "machine_id",
		"machine_name", "comment", "delivery", "state", "detail", "last_status", "sha256", "bytes",
		"created_at", "updated_at", "told_at", "target", "version"}
	var decisions [][]any
	err := bulk(ctx, db, "requests", cols, n, func(i int) []any {
		created := newest.Add(-time.Duration(rng.Int64N(int64(historySpan)))).UnixMilli()
		told := created + 60_000 + rng.Int64N(30*60_000)
		st := endStates[rng.IntN(len(endStates))]
		id := fmt.Sprintf("h%07d", i)
		if i%5 == 0 {
			decisions = append(decisions, []any{id, "U00000020", 1, created + 30_000}, []any{id, "U00000021", 1, created + 40_000})
		}
		return []any{id, team, "C0INC" + strconv.Itoa(i%40), "inc-" + strconv.Itoa(i%40), userID(i % users), "get",
			guid(i), fmt.Sprintf("%040x", i), fmt.Sprintf("host-%05d.contoso.local", i%20000), "ticket INC-" + strconv.Itoa(i),
			"upload", string(st), "delivered: WDATP_Investigation_Package.zip", "Succeeded",
			fmt.Sprintf("%064x", i), 15_000_000 + i, created, told, told, guid(i), 3}
	})
	if err != nil {
		return err
	}
	return bulk(ctx, db, "decisions", []string{"request_id", "approver", "approve", "at"}, len(decisions),
		func(i int) []any { return decisions[i] })
}

// fillAudit adds n audit events, in time order (as they are appended),
// spread over historySpan up to 61 minutes ago: outside the last hour.
func fillAudit(ctx context.Context, db *store.DB, n int, now time.Time) error {
	newest := now.Add(-61 * time.Minute)
	step := historySpan / time.Duration(max(n, 1))
	cols := []string{"at", "request_id", "team", "channel", "actor", "event", "outcome", "action_id",
		"machine_id", "sha256", "bytes", "detail"}
	return bulk(ctx, db, "audit_events", cols, n, func(i int) []any {
		e := auditEvent(i, newest.Add(-historySpan+time.Duration(i)*step))
		return []any{e.At.UnixMilli(), e.RequestID, e.Team, e.Channel, e.Actor, e.Event, e.Outcome,
			e.ActionID, e.MachineID, e.SHA256, e.Bytes, e.Detail}
	})
}

// bulk inserts n rows made by row into table.
func bulk(ctx context.Context, db *store.DB, table string, cols []string, n int, row func(i int) []any) error {
	for start := 0; start < n; start += rowsPerTx {
		if err := bulkTx(ctx, db.SQL, table, cols, start, min(start+rowsPerTx, n), row); err != nil {
			return fmt.Errorf("%s rows %d..: %w", table, start, err)
		}
	}
	return nil
}

func bulkTx(ctx context.Context, db *sql.DB, table string, cols []string, from, to int, row func(i int) []any) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	// One prepared statement per size: parsing thousands of placeholders
	// for every batch would cost more than the inserts.
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, s := range stmts {
			s.Close()
		}
	}()
	var args []any
	for i := from; i < to; i += rowsPerInsert {
		rows := min(rowsPerInsert, to-i)
		stmt := stmts[rows]
		if stmt == nil {
			if stmt, err = tx.PrepareContext(ctx, insertSQL(table, cols, rows)); err != nil {
				return err
			}
			stmts[rows] = stmt
		}
		args = args[:0]
		for j := i; j < i+rows; j++ {
			args = append(args, row(j)...)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// insertSQL is "INSERT INTO table (cols) VALUES ($1, ...), (...)" for rows rows.
func insertSQL(table string, cols []string, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	p := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(p))
			p++
		}
		b.WriteString(")")
	}
	return b.String()
}
