package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// FirstSeen records key until the given time and reports whether it was new:
// false means a live entry already holds it (a replay). An entry past its
// time counts as new again. One statement decides, so of two replicas
// receiving the same request at once exactly one sees true.
func (d *DB) FirstSeen(ctx context.Context, key string, until, now time.Time) (bool, error) {
	if key == "" {
		return false, errors.New("store: first seen: empty key")
	}
	res, err := d.SQL.ExecContext(ctx, `INSERT INTO replay_keys (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE replay_keys.expires_at <= $3`, key, toMillis(until), toMillis(now))
	if err != nil {
		return false, fmt.Errorf("store: first seen: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: first seen: %w", err)
	}
	return n == 1, nil
}

// ForgetReplays deletes the entries whose time has passed.
func (d *DB) ForgetReplays(ctx context.Context, now time.Time) error {
	if _, err := d.SQL.ExecContext(ctx, `DELETE FROM replay_keys WHERE expires_at <= $1`, toMillis(now)); err != nil {
		return fmt.Errorf("store: forget replays: %w", err)
	}
	return nil
}
