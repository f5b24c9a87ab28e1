package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mdebot/mdebot/handlers"
)

// requestColumns is the column order of every request query; requestArgs and
// scanRequest follow it.
var requestColumns = []string{
	"id", "team", "channel", "channel_name", "requester", "kind", "action_id",
	"machine_id", "machine_name", "comment", "delivery", "response_url", "state",
	"detail", "last_status", "message_ts", "required_approvals", "approvers",
	"expires_at", "wait_deadline", "polls", "queue_position", "lease_owner",
	"lease_until", "sha256", "bytes", "created_at", "updated_at", "told_at", "target", "expires_after", "decided_by", "action_created", "action_updated",
	"path", "batch_id", "version",
}

var (
	requestSelect = "SELECT " + strings.Join(requestColumns, ", ") + " FROM requests"
	requestInsert = "INSERT INTO requests (" + strings.Join(requestColumns, ", ") +
		") VALUES (" + placeholders(1, len(requestColumns)) + ")"
	requestUpdate = updateSQL()
)

// updateSQL writes every column but id (the first) and version (the last,
// $N also being the version the caller read), provided the row still meets
// the transition's guard (handlers.Cond): its state, and when set, its lease
// owner and its expiry relative to the instant of the decision. This is the
// compare-and-set that makes two racing writers (replicas included) end with
// one winner.
func updateSQL() string {
	n := len(requestColumns)
	sets := make([]string, 0, n-1)
	for i, c := range requestColumns[1 : n-1] {
		sets = append(sets, c+" = $"+strconv.Itoa(i+2))
	}
	sets = append(sets, "version = version + 1")
	// Explicit types: PostgreSQL would infer int4 from "= 0".
	p := func(i int, typ string) string { return "CAST($" + strconv.Itoa(n+i) + " AS " + typ + ")" }
	return "UPDATE requests SET " + strings.Join(sets, ", ") +
		" WHERE id = $1 AND version = $" + strconv.Itoa(n) +
		" AND state = " + p(1, "TEXT") +
		" AND (" + p(2, "TEXT") + " = '' OR lease_owner = " + p(2, "TEXT") + ")" +
		" AND (" + p(3, "BIGINT") + " = 0 OR expires_at > " + p(3, "BIGINT") + ")" +
		" AND (" + p(4, "BIGINT") + " = 0 OR expires_at <= " + p(4, "BIGINT") + ")"
}

// placeholders returns "$from, ..., $(from+n-1)".
func placeholders(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ps, ", ")
}

func requestArgs(r *handlers.Request) ([]any, error) {
	approvers := []string{}
	if len(r.Approvers) > 0 {
		approvers = r.Approvers
	}
	js, err := json.Marshal(approvers)
	if err != nil {
		return nil, fmt.Errorf("store: request %s approvers: %w", r.ID, err)
	}
	return []any{
		r.ID, r.Team, r.Channel, r.ChannelName, r.User, string(r.Kind), r.ActionID,
		r.MachineID, r.MachineName, r.Comment, string(r.Delivery), r.ResponseURL, string(r.State),
		redactURLs(r.Detail), r.LastStatus, r.MessageTS, r.RequiredApprovals, string(js),
		toMillis(r.ExpiresAt), toMillis(r.WaitDeadline), r.Polls, r.QueuePosition, r.LeaseOwner,
		toMillis(r.LeaseUntil), r.SHA256, r.Bytes, toMillis(r.CreatedAt), toMillis(r.UpdatedAt),
		toMillis(r.ToldAt), r.Target, r.ExpiresAfter.Milliseconds(), r.DecidedBy, toMillis(r.ActionCreated), toMillis(r.ActionUpdated),
		r.Path, r.BatchID, r.Version,
	}, nil
}

type rowScanner interface{ Scan(dest ...any) error }

func scanRequest(row rowScanner) (*handlers.Request, error) {
	var (
		r                                          handlers.Request
		kind, delivery, state, approvers           string
		expires, deadline, lease, created, updated int64
		told, window, acreated, aupdated           int64
	)
	err := row.Scan(&r.ID, &r.Team, &r.Channel, &r.ChannelName, &r.User, &kind, &r.ActionID,
		&r.MachineID, &r.MachineName, &r.Comment, &delivery, &r.ResponseURL, &state,
		&r.Detail, &r.LastStatus, &r.MessageTS, &r.RequiredApprovals, &approvers,
		&expires, &deadline, &r.Polls, &r.QueuePosition, &r.LeaseOwner,
		&lease, &r.SHA256, &r.Bytes, &created, &updated, &told, &r.Target, &window, &r.DecidedBy, &acreated, &aupdated,
		&r.Path, &r.BatchID, &r.Version)
	if err != nil {
		return nil, err
	}
	r.Kind, r.Delivery, r.State = handlers.Kind(kind), handlers.Delivery(delivery), handlers.State(state)
	if err := json.Unmarshal([]byte(approvers), &r.Approvers); err != nil {
		return nil, fmt.Errorf("store: request %s approvers: %w", r.ID, err)
	}
	if len(r.Approvers) == 0 {
		r.Approvers = nil
	}
	r.ExpiresAt, r.WaitDeadline, r.LeaseUntil = fromMillis(expires), fromMillis(deadline), fromMillis(lease)
	r.CreatedAt, r.UpdatedAt, r.ToldAt = fromMillis(created), fromMillis(updated), fromMillis(told)
	r.ExpiresAfter = time.Duration(window) * time.Millisecond
	r.ActionCreated, r.ActionUpdated = fromMillis(acreated), fromMillis(aupdated)
	return &r, nil
}

// queryRequests runs a request SELECT and returns the rows oldest first.
func (d *DB) queryRequests(ctx context.Context, query string, args ...any) ([]*handlers.Request, error) {
	out, err := d.scanRequests(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// scanRequests runs a request SELECT and returns the rows in its order.
func (d *DB) scanRequests(ctx context.Context, query string, args ...any) ([]*handlers.Request, error) {
	rows, err := d.SQL.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*handlers.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateRequest inserts r (r.ID set by the caller) and sets r.Version to 1.
// Times are kept to the millisecond; a URL query string in Detail is redacted.
func (d *DB) CreateRequest(ctx context.Context, r *handlers.Request) error {
	if r.ID == "" {
		return errors.New("store: create request: empty ID")
	}
	c := *r
	c.Version = 1
	args, err := requestArgs(&c)
	if err != nil {
		return err
	}
	if _, err := d.SQL.ExecContext(ctx, requestInsert, args...); err != nil {
		return fmt.Errorf("store: create request %s: %w", r.ID, err)
	}
	r.Version = 1
	asStored(r)
	return nil
}

// GetRequest returns handlers.ErrNotFound when there is no such request.
func (d *DB) GetRequest(ctx context.Context, id string) (*handlers.Request, error) {
	r, err := scanRequest(d.SQL.QueryRowContext(ctx, requestSelect+" WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: request %s: %w", id, handlers.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get request %s: %w", id, err)
	}
	return r, nil
}

// UpdateRequest writes every field of r if the stored version is still
// r.Version and the stored row meets c, then increments r.Version; otherwise
// handlers.ErrConflict (or handlers.ErrNotFound when the request does not
// exist). The caller tells a lost race from a version bump by reading again.
func (d *DB) UpdateRequest(ctx context.Context, r *handlers.Request, c handlers.Cond) error {
	if c.State == "" {
		return fmt.Errorf("store: update request %s: the condition names no state", r.ID)
	}
	args, err := requestArgs(r)
	if err != nil {
		return err
	}
	args = append(args, string(c.State), c.Owner, toMillis(c.LiveAt), toMillis(c.LapsedAt))
	res, err := d.SQL.ExecContext(ctx, requestUpdate, args...)
	if err != nil {
		return fmt.Errorf("store: update request %s: %w", r.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: update request %s: %w", r.ID, err)
	}
	if n == 0 {
		var one int
		err := d.SQL.QueryRowContext(ctx, `SELECT 1 FROM requests WHERE id = $1`, r.ID).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: update request %s: %w", r.ID, handlers.ErrNotFound)
		case err != nil:
			return fmt.Errorf("store: update request %s: %w", r.ID, err)
		}
		return fmt.Errorf("store: update request %s (version %d): %w", r.ID, r.Version, handlers.ErrConflict)
	}
	r.Version++
	asStored(r)
	return nil
}

// asStored rounds r's times to what the database keeps (milliseconds), so
// the caller's copy compares with later reads and guards as the row does.
func asStored(r *handlers.Request) {
	for _, t := range []*time.Time{&r.ExpiresAt, &r.WaitDeadline, &r.LeaseUntil, &r.CreatedAt, &r.UpdatedAt, &r.ToldAt, &r.ActionCreated, &r.ActionUpdated} {
		*t = fromMillis(toMillis(*t))
	}
	r.ExpiresAfter = r.ExpiresAfter.Truncate(time.Millisecond)
}

// ClaimReady moves, in one statement, actionID's requests that are ready, or
// fetching under a lease that ended before now, to fetching under owner until
// leaseUntil, and returns them oldest first. Of two claimers running at once,
// exactly one gets each request: SQLite runs one writer at a time, and on
// PostgreSQL the second UPDATE waits for the first's row locks and then
// re-checks its WHERE against the claimed rows, which no longer match.
func (d *DB) ClaimReady(ctx context.Context, actionID, owner string, leaseUntil, now time.Time) ([]*handlers.Request, error) {
	if actionID == "" || owner == "" {
		return nil, errors.New("store: claim ready: empty action ID or owner")
	}
	q := `UPDATE requests SET state = $1, lease_owner = $2, lease_until = $3, updated_at = $4,
		version = version + 1
		WHERE action_id = $5 AND (state = $6 OR (state = $1 AND lease_until < $4))
		RETURNING ` + strings.Join(requestColumns, ", ")
	out, err := d.queryRequests(ctx, q, string(handlers.StateFetching), owner, toMillis(leaseUntil),
		toMillis(now), actionID, string(handlers.StateReady))
	if err != nil {
		return nil, fmt.Errorf("store: claim ready requests of action %s: %w", actionID, err)
	}
	return out, nil
}

// ExtendLease moves LeaseUntil of every request still fetching under owner
// (bumping their Version: a caller holding a copy reads it again).
func (d *DB) ExtendLease(ctx context.Context, owner string, leaseUntil time.Time) error {
	if owner == "" {
		return errors.New("store: extend lease: empty owner")
	}
	_, err := d.SQL.ExecContext(ctx, `UPDATE requests SET lease_until = $1, version = version + 1
		WHERE state = $2 AND lease_owner = $3`, toMillis(leaseUntil), string(handlers.StateFetching), owner)
	if err != nil {
		return fmt.Errorf("store: extend lease of %s: %w", owner, err)
	}
	return nil
}

// ListRequests returns the requests in any of states (every request when
// none is given), oldest first.
func (d *DB) ListRequests(ctx context.Context, states ...handlers.State) ([]*handlers.Request, error) {
	q := requestSelect
	args, in := stateArgs(1, states)
	if len(states) > 0 {
		q += " WHERE state IN (" + in + ")"
	}
	out, err := d.queryRequests(ctx, q+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: list requests: %w", err)
	}
	return out, nil
}

// terminalStates are the final states and activeStates the others
// (handlers.State.Terminal over handlers.States).
var terminalStates, activeStates = func() (term, active []handlers.State) {
	for _, s := range handlers.States {
		if s.Terminal() {
			term = append(term, s)
		} else {
			active = append(active, s)
		}
	}
	return term, active
}()

// stateArgs returns states as query arguments and "$from, ..." placeholders.
func stateArgs(from int, states []handlers.State) ([]any, string) {
	args := make([]any, len(states))
	for i, s := range states {
		args[i] = string(s)
	}
	return args, placeholders(from, len(states))
}

// ListUntold returns the requests in a terminal state whose requester has
// not been told yet (ToldAt zero), oldest first.
func (d *DB) ListUntold(ctx context.Context) ([]*handlers.Request, error) {
	args, in := stateArgs(1, terminalStates)
	q := requestSelect + " WHERE told_at = 0 AND state IN (" + in + ") ORDER BY created_at, id"
	out, err := d.queryRequests(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list untold requests: %w", err)
	}
	return out, nil
}
