package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/mdebot/mdebot/identity"
)

var _ identity.SealedRewriter = (*DB)(nil)

// RewriteSealed calls fn with every sealed value (token caches, then login
// states) and applies its answers, all in one transaction: either every row
// is rewritten or none is.
func (d *DB) RewriteSealed(ctx context.Context, fn func(identity.SealedValue) (identity.Reseal, error)) error {
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: rewrite sealed: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit

	if err := lockIdentityTables(ctx, tx, d.Driver); err != nil {
		return err
	}
	values, err := sealedValues(ctx, tx)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	for _, v := range values {
		r, err := fn(v)
		if err != nil {
			return err
		}
		if err := applyReseal(ctx, tx, v, r, now); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: rewrite sealed: commit: %w", err)
	}
	return nil
}

// lockIdentityTables keeps other writers out until the transaction ends, so
// no row is written with the old key between our read and our write.
func lockIdentityTables(ctx context.Context, tx *sql.Tx, driver string) error {
	q := `LOCK TABLE identity_links, identity_token_caches, identity_login_states, workflow_steps IN SHARE ROW EXCLUSIVE MODE`
	if driver == DriverSQLite {
		// A write statement takes SQLite's single write lock at once, even
		// when it changes nothing (a deferred transaction would take it
		// only at the first real write, after the reads).
		q = `DELETE FROM identity_login_states WHERE 1 = 0`
	}
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("store: rewrite sealed: lock: %w", err)
	}
	return nil
}

// sealedValues reads every sealed value; all rows are read before any is
// written (one SQLite connection cannot hold a cursor and write).
func sealedValues(ctx context.Context, tx *sql.Tx) ([]identity.SealedValue, error) {
	var out []identity.SealedValue
	rows, err := tx.QueryContext(ctx, `SELECT team, slack_user, sealed FROM identity_token_caches ORDER BY team, slack_user`)
	if err != nil {
		return nil, fmt.Errorf("store: read token caches: %w", err)
	}
	for rows.Next() {
		v := identity.SealedValue{Kind: identity.SealedTokenCache}
		if err := rows.Scan(&v.Team, &v.User, &v.Sealed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: read token caches: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("store: read token caches: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read token caches: %w", err)
	}

	steps, err := sealedSteps(ctx, tx)
	if err != nil {
		return nil, err
	}
	out = append(out, steps...)

	rows, err = tx.QueryContext(ctx, `SELECT id, team, slack_user, sealed FROM identity_login_states ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: read login states: %w", err)
	}
	for rows.Next() {
		v := identity.SealedValue{Kind: identity.SealedLoginState}
		if err := rows.Scan(&v.ID, &v.Team, &v.User, &v.Sealed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: read login states: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("store: read login states: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read login states: %w", err)
	}
	return out, nil
}

func applyReseal(ctx context.Context, tx *sql.Tx, v identity.SealedValue, r identity.Reseal, now int64) error {
	var stmts []string
	var args []any
	switch {
	case r.Drop && v.Kind == identity.SealedTokenCache:
		stmts = []string{
			`DELETE FROM identity_token_caches WHERE team = $1 AND slack_user = $2`,
			`DELETE FROM identity_links WHERE team = $1 AND slack_user = $2`,
		}
		args = []any{v.Team, v.User}
	case r.Drop && v.Kind == identity.SealedStepToken:
		// The step is then completed with the bot token.
		stmts = []string{`UPDATE workflow_steps SET sealed_token = $2 WHERE request_id = $1`}
		args = []any{v.ID, []byte{}}
	case r.Drop:
		stmts = []string{`DELETE FROM identity_login_states WHERE id = $1`}
		args = []any{v.ID}
	case r.Sealed == nil:
		return nil // left as it is
	case v.Kind == identity.SealedStepToken:
		stmts = []string{`UPDATE workflow_steps SET sealed_token = $2 WHERE request_id = $1`}
		args = []any{v.ID, r.Sealed}
	case v.Kind == identity.SealedTokenCache:
		stmts = []string{`UPDATE identity_token_caches SET sealed = $3, updated_at = $4 WHERE team = $1 AND slack_user = $2`}
		args = []any{v.Team, v.User, r.Sealed, now}
	default:
		stmts = []string{`UPDATE identity_login_states SET sealed = $2 WHERE id = $1`}
		args = []any{v.ID, r.Sealed}
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store: rewrite sealed %s of %s:%s: %w", v.Kind, v.Team, v.User, err)
		}
	}
	return nil
}

// sealedSteps reads the sealed tokens of the Workflow Builder steps waiting
// for their requests.
func sealedSteps(ctx context.Context, tx *sql.Tx) ([]identity.SealedValue, error) {
	rows, err := tx.QueryContext(ctx, `SELECT request_id, team, requester, sealed_token FROM workflow_steps ORDER BY request_id`)
	if err != nil {
		return nil, fmt.Errorf("store: read workflow steps: %w", err)
	}
	defer rows.Close()
	var out []identity.SealedValue
	for rows.Next() {
		v := identity.SealedValue{Kind: identity.SealedStepToken}
		if err := rows.Scan(&v.ID, &v.Team, &v.User, &v.Sealed); err != nil {
			return nil, fmt.Errorf("store: read workflow steps: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read workflow steps: %w", err)
	}
	return out, nil
}
