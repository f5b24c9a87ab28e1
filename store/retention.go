package store

import (
	"context"
	"fmt"
	"time"
)

// Retention deletes in batches, each its own short transaction: a first
// purge of a large history must not hold SQLite's single write lock for
// longer than other writers' busy timeout (5 s).
const (
	purgeRequestBatch = 500
	purgeAuditBatch   = 5000
)

// PurgeRequests deletes the requests that ended (terminal state) and whose
// requester was told before before (store.request_retention), with their
// approvers' decisions, and returns how many requests it deleted. Active
// requests, and ended ones not told yet, are never deleted.
func (d *DB) PurgeRequests(ctx context.Context, before time.Time) (int, error) {
	states, in := stateArgs(2, terminalStates)
	pick := `SELECT id FROM requests WHERE told_at > 0 AND told_at < $1 AND state IN (` + in + `) LIMIT ` +
		fmt.Sprint(purgeRequestBatch)
	total := 0
	for {
		n, err := d.purgeRequestBatch(ctx, pick, append([]any{toMillis(before)}, states...))
		total += n
		if err != nil {
			return total, fmt.Errorf("store: purge requests told before %s: %w", before.UTC().Format(time.RFC3339), err)
		}
		if n < purgeRequestBatch {
			return total, nil
		}
	}
}

// purgeRequestBatch deletes one batch of the requests pick selects, and
// their decisions (also the foreign key's cascade, stated for clarity).
func (d *DB) purgeRequestBatch(ctx context.Context, pick string, args []any) (int, error) {
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	rows, err := tx.QueryContext(ctx, pick, args...)
	if err != nil {
		return 0, err
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, err
	}
	in := placeholders(1, len(ids))
	if _, err := tx.ExecContext(ctx, `DELETE FROM decisions WHERE request_id IN (`+in+`)`, ids...); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM requests WHERE id IN (`+in+`)`, ids...); err != nil {
		return 0, err
	}
	return len(ids), tx.Commit()
}

// PurgeAudit deletes the audit events recorded before before
// (store.audit_retention) and returns how many it deleted.
func (d *DB) PurgeAudit(ctx context.Context, before time.Time) (int, error) {
	q := `DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events
		WHERE at < $1 ORDER BY at, id LIMIT ` + fmt.Sprint(purgeAuditBatch) + `)`
	total := 0
	for {
		res, err := d.SQL.ExecContext(ctx, q, toMillis(before))
		if err != nil {
			return total, fmt.Errorf("store: purge audit events before %s: %w", before.UTC().Format(time.RFC3339), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("store: purge audit events: %w", err)
		}
		total += int(n)
		if n < purgeAuditBatch {
			return total, nil
		}
	}
}
