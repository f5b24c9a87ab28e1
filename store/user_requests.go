package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/mdebot/mdebot/handlers"
)

// CountPending is the number of team's requests by user that have not
// reached a terminal state (policy.max_pending_per_user); the requests of one
// batch (a collect on several devices) count as one. One index seek per
// active state (requests_requester_state): its cost does not grow with the
// user's history.
func (d *DB) CountPending(ctx context.Context, team, user string) (int, error) {
	if team == "" || user == "" {
		return 0, errors.New("store: count pending: empty team or user")
	}
	states, in := stateArgs(3, activeStates)
	var n int
	err := d.SQL.QueryRowContext(ctx, `SELECT COUNT(DISTINCT CASE WHEN batch_id = '' THEN id ELSE batch_id END) FROM requests
		WHERE team = $1 AND requester = $2 AND state IN (`+in+`)`,
		append([]any{team, user}, states...)...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count pending requests of %s: %w", user, err)
	}
	return n, nil
}

// RecentRequests returns team's n latest requests by user, newest first (by
// creation, then ID), whatever their state: what App Home shows. n is at
// most 100. The index requests_requester_created hands them over in order,
// so the cost does not grow with the user's history.
func (d *DB) RecentRequests(ctx context.Context, team, user string, n int) ([]*handlers.Request, error) {
	if team == "" || user == "" || n < 1 || n > 100 {
		return nil, fmt.Errorf("store: recent requests: want a team, a user and 1 to 100 requests, got %q, %q, %d", team, user, n)
	}
	out, err := d.scanRequests(ctx, requestSelect+` WHERE team = $1 AND requester = $2
		ORDER BY created_at DESC, id DESC LIMIT $3`, team, user, n)
	if err != nil {
		return nil, fmt.Errorf("store: recent requests of %s: %w", user, err)
	}
	return out, nil
}

// LatestDelivered returns the most recently delivered request of actionID
// that has a package (its SHA-256 recorded), or nil when there is none.
func (d *DB) LatestDelivered(ctx context.Context, actionID string) (*handlers.Request, error) {
	rs, err := d.queryRequests(ctx, requestSelect+` WHERE action_id = $1 AND state = $2 AND sha256 <> ''
		ORDER BY updated_at DESC, id DESC LIMIT 1`, actionID, string(handlers.StateDelivered))
	if err != nil {
		return nil, fmt.Errorf("store: latest delivery of %s: %w", actionID, err)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	return rs[0], nil
}

// AwaitingApproval returns at most n of team's requests awaiting approval,
// soonest to expire first (App Home lists those waiting for a user). The
// index requests_state_team_expires hands them over in order.
func (d *DB) AwaitingApproval(ctx context.Context, team string, n int) ([]*handlers.Request, error) {
	if team == "" || n < 1 || n > 1000 {
		return nil, fmt.Errorf("store: awaiting approval: want a team and 1 to 1000 requests, got %q, %d", team, n)
	}
	out, err := d.scanRequests(ctx, requestSelect+` WHERE state = $1 AND team = $2
		ORDER BY expires_at, id LIMIT $3`, string(handlers.StateAwaitingApproval), team, n)
	if err != nil {
		return nil, fmt.Errorf("store: requests awaiting approval in %s: %w", team, err)
	}
	return out, nil
}

// ListBatch returns the requests of one batch (a collect on several
// devices), oldest first; none for an unknown or empty batch id.
func (d *DB) ListBatch(ctx context.Context, batchID string) ([]*handlers.Request, error) {
	if batchID == "" {
		return nil, nil
	}
	out, err := d.queryRequests(ctx, requestSelect+` WHERE batch_id = $1 ORDER BY created_at, id`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: requests of batch %s: %w", batchID, err)
	}
	return out, nil
}
