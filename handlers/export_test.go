package handlers

import (
	"context"
	"time"
)

// Hooks for the external lifecycle tests (package handlers_test), which use
// the real store and so cannot live in this package.

// Move runs the one guarded transition function.
func (s *Service) Move(ctx context.Context, r *Request, to State, at time.Time, actor string) (bool, error) {
	return s.move(ctx, r, step{to: to, at: at, actor: actor})
}

// Update writes a non-state change through the guarded update.
func (s *Service) Update(ctx context.Context, r *Request, mutate func(*Request)) error {
	return s.update(ctx, r, mutate)
}

// Intake runs a received request's checks with the caller's copy of it.
func (s *Service) Intake(ctx context.Context, r *Request) { s.intake(ctx, r) }

// Release gives claimed requests back with the caller's copies of them.
func (s *Service) Release(ctx context.Context, rs []*Request) { s.release(ctx, rs, nil) }

// End moves a request to a terminal state with the caller's copy of it.
func (s *Service) End(ctx context.Context, r *Request, to State, detail string) bool {
	return s.end(ctx, r, to, T(detail), "")
}
