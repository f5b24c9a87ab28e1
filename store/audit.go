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

// auditPage is how many events one query of EachAudit reads.
const auditPage = 1000

// ListAudit returns the events at or after since, oldest first (by At, then
// ID), all in memory: for bounded windows. EachAudit streams any window.
func (d *DB) ListAudit(ctx context.Context, since time.Time) ([]handlers.AuditEvent, error) {
	var out []handlers.AuditEvent
	err := d.EachAudit(ctx, since, func(e handlers.AuditEvent) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// EachAudit calls fn with every event at or after since, oldest first (by
// At, then ID), reading pages of auditPage events by keyset on (at, id): the
// memory used does not grow with the window, no query holds the database
// for long, and each page is one index range scan. An error from fn stops
// the walk and is returned as is.
func (d *DB) EachAudit(ctx context.Context, since time.Time, fn func(handlers.AuditEvent) error) error {
	at, id := toMillis(since), int64(-1)
	for {
		page, err := d.auditPage(ctx, at, id)
		if err != nil {
			return fmt.Errorf("store: list audit: %w", err)
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page) < auditPage {
			return nil
		}
		last := page[len(page)-1]
		at, id = toMillis(last.At), last.ID
	}
}

// auditPage reads the auditPage events after (at, id) in (at, id) order.
func (d *DB) auditPage(ctx context.Context, at, id int64) ([]handlers.AuditEvent, error) {
	rows, err := d.SQL.QueryContext(ctx, `SELECT id, at, request_id, team, channel, actor, event,
		outcome, action_id, machine_id, sha256, bytes, detail
		FROM audit_events WHERE (at, id) > ($1, $2) ORDER BY at, id LIMIT `+fmt.Sprint(auditPage), at, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]handlers.AuditEvent, 0, auditPage)
	for rows.Next() {
		var (
			e  handlers.AuditEvent
			ms int64
		)
		if err := rows.Scan(&e.ID, &ms, &e.RequestID, &e.Team, &e.Channel, &e.Actor, &e.Event,
			&e.Outcome, &e.ActionID, &e.MachineID, &e.SHA256, &e.Bytes, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMillis(ms)
		out = append(out, e)
	}
	return out, rows.Err()
}
