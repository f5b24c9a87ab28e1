package handlers

import (
	"context"
	"fmt"
)

// Sweep repairs what a crash or a lost job left behind and ends what timed
// out: expired approvals and confirmations, requests without a job, claims of
// dead replicas, untold outcomes. Every job start is idempotent, so sweeping
// often is harmless. It runs periodically on one replica.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	rs, err := s.opt.Store.ListRequests(ctx, activeStates...)
	if err != nil {
		return err
	}
	pending := 0
	fetches := map[string]bool{}
	for _, r := range rs {
		switch r.State {
		case StateAwaitingApproval:
			if now.After(r.ExpiresAt) {
				s.expire(ctx, r, fmt.Sprintf("No approver decided within %s (approval.expires_after); nothing was fetched.", roundDuration(r.ExpiresAt.Sub(r.CreatedAt))))
				continue
			}
			pending++
		case StateAwaitingConfirmation:
			if now.After(r.ExpiresAt) {
				if s.finish(ctx, r, StateCancelled, "The collection was not confirmed in time; nothing was started.", "") {
					s.start(ctx, r)
				}
			}
		case StateApproved, StateWaiting:
			s.start(ctx, r)
		case StateReady:
			fetches[r.ActionID] = true
		case StateFetching:
			if now.After(r.LeaseUntil) {
				fetches[r.ActionID] = true
			}
		}
	}
	for action := range fetches {
		if err := s.opt.Jobs.StartFetch(ctx, action, now); err != nil {
			return err
		}
	}
	s.opt.Metrics.ApprovalsPending(pending)
	untold, err := s.opt.Store.ListUntold(ctx)
	if err != nil {
		return err
	}
	for _, r := range untold {
		s.start(ctx, r)
	}
	return nil
}

// expire ends a request whose approval window passed and says so in the channel.
func (s *Service) expire(ctx context.Context, r *Request, detail string) {
	if s.finish(ctx, r, StateExpired, detail, "") {
		s.start(ctx, r)
	}
}
