package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/mdebot/mdebot/handlers"
)

// AddDecision records d unless d.Approver already decided on d.RequestID, or
// the request is no longer awaiting approval, or its window had closed at
// d.At: the decision is judged at the instant it is recorded, in the same
// statement. added reports whether it was recorded.
func (d *DB) AddDecision(ctx context.Context, dec handlers.Decision) (added bool, err error) {
	if dec.RequestID == "" || dec.Approver == "" {
		return false, errors.New("store: add decision: empty request ID or approver")
	}
	approve := 0
	if dec.Approve {
		approve = 1
	}
	res, err := d.SQL.ExecContext(ctx, `INSERT INTO decisions (request_id, approver, approve, at)
		SELECT $1, $2, $3, $4 FROM requests
		WHERE id = $1 AND state = $5 AND expires_at > $4
		ON CONFLICT (request_id, approver) DO NOTHING`,
		dec.RequestID, dec.Approver, approve, toMillis(dec.At), string(handlers.StateAwaitingApproval))
	if err != nil {
		return false, fmt.Errorf("store: add decision on %s by %s: %w", dec.RequestID, dec.Approver, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: add decision on %s by %s: %w", dec.RequestID, dec.Approver, err)
	}
	return n == 1, nil
}

// Decisions lists a request's decisions, oldest first.
func (d *DB) Decisions(ctx context.Context, requestID string) ([]handlers.Decision, error) {
	rows, err := d.SQL.QueryContext(ctx, `SELECT approver, approve, at FROM decisions
		WHERE request_id = $1 ORDER BY at, approver`, requestID)
	if err != nil {
		return nil, fmt.Errorf("store: decisions on %s: %w", requestID, err)
	}
	defer rows.Close()
	var out []handlers.Decision
	for rows.Next() {
		var (
			dec     = handlers.Decision{RequestID: requestID}
			approve int
			at      int64
		)
		if err := rows.Scan(&dec.Approver, &approve, &at); err != nil {
			return nil, fmt.Errorf("store: decisions on %s: %w", requestID, err)
		}
		dec.Approve, dec.At = approve == 1, fromMillis(at)
		out = append(out, dec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: decisions on %s: %w", requestID, err)
	}
	return out, nil
}
