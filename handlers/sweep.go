package handlers

import (
	"context"
	"time"
)

// stuckAfter is how long a ready request may go untouched before the sweep
// starts a recovery fetch for it.
const stuckAfter = 2 * time.Minute

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
	recover := map[string]string{} // action -> epoch
	for _, r := range rs {
		switch r.State {
		case StateReceived:
			// Normally checked within seconds of the acknowledgement; one left
			// this long lost its process.
			if now.Sub(r.UpdatedAt) > time.Minute {
				s.start(ctx, r)
			}
		case StateAwaitingApproval, StateAwaitingConfirmation:
			// Each has an expiry job for the instant its window closes; this
			// is the safety net for one that was lost.
			if !now.Before(r.ExpiresAt) {
				s.expire(ctx, r, "")
				continue
			}
			if r.State == StateAwaitingApproval {
				pending++
			}
		case StateApproved:
			s.start(ctx, r)
		case StateWaiting:
			// The status poller (a periodic job) reads every waiting request.
		case StateReady:
			fetches[r.ActionID] = true
			// Ready and untouched for long: no fetch job is serving it (a
			// waiting one refreshes it every 20 s); its job may be held by a
			// dead replica, which River would free only after the job timeout.
			if now.Sub(r.UpdatedAt) > stuckAfter {
				recover[r.ActionID] = "ready-" + r.ID + "-" + r.UpdatedAt.Format(time.RFC3339Nano)
			}
		case StateFetching:
			if now.After(r.LeaseUntil) {
				// The claim's holder stopped renewing its lease: it died.
				recover[r.ActionID] = "lease-" + r.LeaseOwner
			}
		}
	}
	for action := range fetches {
		if err := s.opt.Jobs.StartFetch(ctx, action, now); err != nil {
			return err
		}
	}
	for action, epoch := range recover {
		if err := s.opt.Jobs.RecoverFetch(ctx, action, epoch); err != nil {
			return err
		}
	}
	s.opt.Metrics.ApprovalsPending(pending)
	s.queueMetric(ctx)
	untold, err := s.opt.Store.ListUntold(ctx)
	if err != nil {
		return err
	}
	for _, r := range untold {
		s.start(ctx, r)
	}
	s.purgeOld(ctx)
	return nil
}
