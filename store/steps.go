package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/identity"
)

// Steps keeps the Workflow Builder steps requests answer (table
// workflow_steps), their bot_access_token sealed with store.encryption_key
// by the identity package: it never reaches the database in clear.
type Steps struct {
	db   *DB
	seal *identity.StepSealer
}

var _ handlers.StepStore = (*Steps)(nil)

// Steps returns the step store sealing tokens with sealer.
func (d *DB) Steps(sealer *identity.StepSealer) *Steps { return &Steps{db: d, seal: sealer} }

// CreateStepRequest inserts r (set to version 1, as CreateRequest) and its
// step in one transaction: a request never runs without the step it
// answers, nor a step waits for a request that was not stored.
func (s *Steps) CreateStepRequest(ctx context.Context, r *handlers.Request, st handlers.Step) error {
	if r.ID == "" || st.RequestID != r.ID || st.ExecutionID == "" {
		return fmt.Errorf("store: create step request: want a request ID, its step and an execution ID, got %q, %q, %q", r.ID, st.RequestID, st.ExecutionID)
	}
	sealed, err := s.seal.Seal(r.Team, r.User, r.ID, []byte(st.Token.Reveal()))
	if err != nil {
		return fmt.Errorf("store: create step request %s: %w", r.ID, err)
	}
	c := *r
	c.Version = 1
	args, err := requestArgs(&c)
	if err != nil {
		return err
	}
	tx, err := s.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: create step request %s: %w", r.ID, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if _, err := tx.ExecContext(ctx, requestInsert, args...); err != nil {
		return fmt.Errorf("store: create step request %s: %w", r.ID, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_steps (request_id, team, requester, execution_id, sealed_token, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, r.ID, r.Team, r.User, st.ExecutionID, sealed, toMillis(st.CreatedAt)); err != nil {
		return fmt.Errorf("store: create step of request %s: %w", r.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: create step request %s: %w", r.ID, err)
	}
	r.Version = 1
	asStored(r)
	return nil
}

// HasStep reports whether a step waits for request id.
func (s *Steps) HasStep(ctx context.Context, id string) (bool, error) {
	var one int
	err := s.db.SQL.QueryRowContext(ctx, `SELECT 1 FROM workflow_steps WHERE request_id = $1`, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: step of request %s: %w", id, err)
	}
	return true, nil
}

// Step returns the step of request id (handlers.ErrNotFound when none). A
// token that does not open (the key changed without a rekey) comes back
// zero: the step can still be completed with the bot token.
func (s *Steps) Step(ctx context.Context, id string) (*handlers.Step, error) {
	var team, requester string
	var sealed []byte
	var created int64
	st := handlers.Step{RequestID: id}
	err := s.db.SQL.QueryRowContext(ctx, `SELECT team, requester, execution_id, sealed_token, created_at
		FROM workflow_steps WHERE request_id = $1`, id).Scan(&team, &requester, &st.ExecutionID, &sealed, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: step of request %s: %w", id, handlers.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: step of request %s: %w", id, err)
	}
	if token, err := s.seal.Open(team, requester, id, sealed); err == nil {
		st.Token = handlers.NewSecret(string(token))
	}
	st.CreatedAt = fromMillis(created)
	return &st, nil
}

// DeleteStep forgets the step of request id and its token.
func (s *Steps) DeleteStep(ctx context.Context, id string) error {
	if _, err := s.db.SQL.ExecContext(ctx, `DELETE FROM workflow_steps WHERE request_id = $1`, id); err != nil {
		return fmt.Errorf("store: delete step of request %s: %w", id, err)
	}
	return nil
}
