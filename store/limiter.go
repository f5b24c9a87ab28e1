package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mdebot/mdebot/mde"
)

const (
	// limiterLockKey serialises Take across replicas on PostgreSQL
	// (pg_advisory_xact_lock); distinct from the migration lock.
	limiterLockKey = 0x6d6465626f74_01
	// staleAfter: a key not seen for this long leaves the queue (its job
	// died); the same bound as mde.MemoryLimiter's.
	staleAfter = mde.QueueIdle
	// callWindow: older calls no longer count against any budget.
	callWindow = time.Hour + mde.WindowMargin
)

// Limiter is one named budget's limiter (getPackageUri, runliveresponse),
// shared by every replica using the database: the history of granted calls
// and the queue of waiting keys live in tables (one budget column tells the
// budgets apart), and each Take is one transaction serialised across
// processes, so N replicas together stay within the limits. The queue is
// served round-robin across users (mde.ServeOrder). It satisfies
// handlers.Limiter.
type Limiter struct {
	db     *DB
	budget string
	limits mde.Limits
	now    func() time.Time
}

// Limiter returns the shared limiter of budget (e.g. mde.BudgetPackageURI)
// with limits l, reading the time from now (time.Now when nil). Times are
// kept to the millisecond. Budgets are independent: calls and queue places
// of one never count for another.
func (d *DB) Limiter(budget string, l mde.Limits, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{db: d, budget: budget, limits: l, now: now}
}

// Take asks for a call slot for key, served for user (the Slack user the
// call is made for; a later Take may name another). Granted: the call is
// counted and key leaves the queue. Otherwise key keeps its place (or joins
// in round mde.JoinRound) and the Slot tells its 1-based position in serving
// order and the wait until its ETA, by mde.ServeOrder and mde.NextSlots,
// exactly as mde's in-process limiter computes them.
func (l *Limiter) Take(ctx context.Context, key, user string) (mde.Slot, error) {
	if l.budget == "" || key == "" || user == "" {
		return mde.Slot{}, errors.New("store: limiter take: empty budget, key or user")
	}
	var slot mde.Slot
	err := l.db.serialised(ctx, func(tx *sql.Tx) error {
		// The clock is read once the transaction holds the lock: a Take that
		// waited for it must see the grants committed meanwhile as past.
		now := fromMillis(l.now().UnixMilli())
		ms := now.UnixMilli()
		if _, err := tx.ExecContext(ctx, `DELETE FROM limiter_queue WHERE seen_at <= $1`,
			ms-staleAfter.Milliseconds()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM limiter_calls WHERE at <= $1`,
			ms-callWindow.Milliseconds()); err != nil {
			return err
		}
		joined, err := l.waiters(ctx, tx)
		if err != nil {
			return err
		}
		pos := slices.IndexFunc(joined, func(w mde.Waiter) bool { return w.Key == key })
		if pos < 0 {
			w := mde.Waiter{Key: key, User: user, Round: mde.JoinRound(joined, user)}
			joined = append(joined, w)
			_, err = tx.ExecContext(ctx, `INSERT INTO limiter_queue
				(budget, key, requester, serve_round, joined_at, seen_at, seq)
				VALUES ($1, $2, $3, $4, $5, $5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM limiter_queue))`,
				l.budget, key, user, w.Round, ms)
		} else {
			joined[pos].User = user
			_, err = tx.ExecContext(ctx, `UPDATE limiter_queue SET seen_at = $1, requester = $2
				WHERE budget = $3 AND key = $4`, ms, user, l.budget, key)
		}
		if err != nil {
			return err
		}
		pos = mde.ServePosition(joined, key)
		calls, err := l.callTimes(ctx, tx)
		if err != nil {
			return err
		}
		eta := mde.NextSlots(calls, now, l.limits, pos+1)[pos]
		if eta.After(now) {
			slot = mde.Slot{Position: pos + 1, Wait: eta.Sub(now)}
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO limiter_calls (budget, at, key) VALUES ($1, $2, $3)`,
			l.budget, ms, key); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM limiter_queue WHERE budget = $1 AND key = $2`,
			l.budget, key); err != nil {
			return err
		}
		slot = mde.Slot{Granted: true}
		return nil
	})
	if err != nil {
		return mde.Slot{}, fmt.Errorf("store: limiter %s take %s: %w", l.budget, key, err)
	}
	return slot, nil
}

// waiters is the budget's queue in join order (joined_at, then seq).
func (l *Limiter) waiters(ctx context.Context, tx *sql.Tx) ([]mde.Waiter, error) {
	rows, err := tx.QueryContext(ctx, `SELECT key, requester, serve_round FROM limiter_queue
		WHERE budget = $1 ORDER BY joined_at, seq`, l.budget)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mde.Waiter
	for rows.Next() {
		var w mde.Waiter
		if err := rows.Scan(&w.Key, &w.User, &w.Round); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func (l *Limiter) callTimes(ctx context.Context, tx *sql.Tx) ([]time.Time, error) {
	rows, err := tx.QueryContext(ctx, `SELECT at FROM limiter_calls WHERE budget = $1`, l.budget)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var calls []time.Time
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, err
		}
		calls = append(calls, time.UnixMilli(at))
	}
	return calls, rows.Err()
}

// Leave removes key from the budget's queue (its caller gave up).
func (l *Limiter) Leave(ctx context.Context, key string) error {
	if _, err := l.db.SQL.ExecContext(ctx, `DELETE FROM limiter_queue WHERE budget = $1 AND key = $2`,
		l.budget, key); err != nil {
		return fmt.Errorf("store: limiter %s leave %s: %w", l.budget, key, err)
	}
	return nil
}

// QueueLen is the number of keys waiting for the budget (seen less than 2
// minutes ago).
func (l *Limiter) QueueLen(ctx context.Context) (int, error) {
	var n int
	err := l.db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM limiter_queue WHERE budget = $1 AND seen_at > $2`,
		l.budget, l.now().UnixMilli()-staleAfter.Milliseconds()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: limiter %s queue length: %w", l.budget, err)
	}
	return n, nil
}

// serialised runs fn in a transaction that no other process's serialised
// transaction overlaps. PostgreSQL: an advisory transaction lock taken
// first. SQLite: one writer at a time, and fn must write first (Take's first
// statement is a DELETE), so the deferred transaction takes the write lock
// at its first statement, where the busy timeout applies; a transaction
// that read first and then wrote could fail with SQLITE_BUSY instead.
func (d *DB) serialised(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if d.Driver == DriverPostgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(limiterLockKey)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
