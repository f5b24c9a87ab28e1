package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// Limiter is the getPackageUri limiter shared by every replica using the
// database: the history of granted calls and a FIFO queue of waiting keys
// live in tables, and each Take is one transaction serialised across
// processes, so N replicas together stay within the limits. It satisfies
// handlers.Limiter.
type Limiter struct {
	db     *DB
	limits mde.Limits
	now    func() time.Time
}

// Limiter returns the shared limiter for l, reading the time from now
// (time.Now when nil). Times are kept to the millisecond.
func (d *DB) Limiter(l mde.Limits, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{db: d, limits: l, now: now}
}

// Take asks for a call slot for key. Granted: the call is counted and key
// leaves the queue. Otherwise key keeps (or joins at the end of) the queue
// and the Slot tells its 1-based position and the wait until its ETA, by
// mde.NextSlots, exactly as mde's in-process limiter computes them.
func (l *Limiter) Take(ctx context.Context, key string) (mde.Slot, error) {
	if key == "" {
		return mde.Slot{}, errors.New("store: limiter take: empty key")
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO limiter_queue (key, joined_at, seen_at, seq)
			VALUES ($1, $2, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM limiter_queue))
			ON CONFLICT (key) DO UPDATE SET seen_at = excluded.seen_at`, key, ms); err != nil {
			return err
		}
		pos, err := queuePosition(ctx, tx, key)
		if err != nil {
			return err
		}
		calls, err := callTimes(ctx, tx)
		if err != nil {
			return err
		}
		eta := mde.NextSlots(calls, now, l.limits, pos+1)[pos]
		if eta.After(now) {
			slot = mde.Slot{Position: pos + 1, Wait: eta.Sub(now)}
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO limiter_calls (at, key) VALUES ($1, $2)`, ms, key); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM limiter_queue WHERE key = $1`, key); err != nil {
			return err
		}
		slot = mde.Slot{Granted: true}
		return nil
	})
	if err != nil {
		return mde.Slot{}, fmt.Errorf("store: limiter take %s: %w", key, err)
	}
	return slot, nil
}

// queuePosition is key's 0-based place in the queue (first come, first served).
func queuePosition(ctx context.Context, tx *sql.Tx, key string) (int, error) {
	var pos int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM limiter_queue q, limiter_queue k
		WHERE k.key = $1 AND (q.joined_at < k.joined_at OR (q.joined_at = k.joined_at AND q.seq < k.seq))`,
		key).Scan(&pos)
	return pos, err
}

func callTimes(ctx context.Context, tx *sql.Tx) ([]time.Time, error) {
	rows, err := tx.QueryContext(ctx, `SELECT at FROM limiter_calls`)
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

// Leave removes key from the queue (its caller gave up).
func (l *Limiter) Leave(ctx context.Context, key string) error {
	if _, err := l.db.SQL.ExecContext(ctx, `DELETE FROM limiter_queue WHERE key = $1`, key); err != nil {
		return fmt.Errorf("store: limiter leave %s: %w", key, err)
	}
	return nil
}

// QueueLen is the number of keys waiting (seen less than 2 minutes ago).
func (l *Limiter) QueueLen(ctx context.Context) (int, error) {
	var n int
	err := l.db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM limiter_queue WHERE seen_at > $1`,
		l.now().UnixMilli()-staleAfter.Milliseconds()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: limiter queue length: %w", err)
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
