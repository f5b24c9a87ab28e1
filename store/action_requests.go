package store

import (
	"context"
	"fmt"

	"github.com/mdebot/mdebot/handlers"
)

// ActionRequests returns team's requests of an action in state st, newest
// first (by creation, then ID), at most n (1 to 100): what a search by
// action ID chooses from. The index requests_action_state finds them; an
// action has a handful of requests, so the sort costs nothing.
func (d *DB) ActionRequests(ctx context.Context, team, actionID string, st handlers.State, n int) ([]*handlers.Request, error) {
	if team == "" || actionID == "" || n < 1 || n > 100 {
		return nil, fmt.Errorf("store: action requests: want a team, an action and 1 to 100 requests, got %q, %q, %d", team, actionID, n)
	}
	out, err := d.scanRequests(ctx, requestSelect+` WHERE action_id = $1 AND state = $2 AND team = $3
		ORDER BY created_at DESC, id DESC LIMIT $4`, actionID, string(st), team, n)
	if err != nil {
		return nil, fmt.Errorf("store: requests of action %s: %w", actionID, err)
	}
	return out, nil
}
