package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mdebot/mdebot/handlers"
)

// AppendAudit appends e; the database assigns its ID, the caller sets At.
// A URL query string in Detail or Outcome is redacted (see redactURLs).
func (d *DB) AppendAudit(ctx context.Context, e handlers.AuditEvent) error {
	if e.Event == "" {
		return errors.New("store: append audit: empty event")
	}
	_, err := d.SQL.ExecContext(ctx, `INSERT INTO audit_events
		(at, request_id, team, channel, actor, event, outcome, action_id, machine_id, sha256, bytes, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		toMillis(e.At), e.RequestID, e.Team, e.Channel, e.Actor, e.Event, redactURLs(e.Outcome),
		e.ActionID, e.MachineID, e.SHA256, e.Bytes, redactURLs(e.Detail))
	if err != nil {
		return fmt.Errorf("store: append audit %s: %w", e.Event, err)
	}
	return nil
}

// ListAudit returns the events at or after since, oldest first (by At, then ID).
func (d *DB) ListAudit(ctx context.Context, since time.Time) ([]handlers.AuditEvent, error) {
	rows, err := d.SQL.QueryContext(ctx, `SELECT id, at, request_id, team, channel, actor, event,
		outcome, action_id, machine_id, sha256, bytes, detail
		FROM audit_events WHERE at >= $1 ORDER BY at, id`, toMillis(since))
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	var out []handlers.AuditEvent
	for rows.Next() {
		var (
			e  handlers.AuditEvent
			at int64
		)
		if err := rows.Scan(&e.ID, &at, &e.RequestID, &e.Team, &e.Channel, &e.Actor, &e.Event,
			&e.Outcome, &e.ActionID, &e.MachineID, &e.SHA256, &e.Bytes, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: list audit: %w", err)
		}
		e.At = fromMillis(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return out, nil
}
