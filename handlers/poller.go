package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/mdebot/mdebot/identity/account"
	"github.com/mdebot/mdebot/mde"
)

// RunPoll is the status poller: one job at a time in a deployment, every
// poll interval (a periodic job). It reads the actions of every waiting
// request in batches — one call per 50 actions
// (GET /api/machineactions?$filter=id eq … or …) — and applies each status
// to its requests, so fifty analysts waiting on fifty collections cost one
// status call per interval instead of fifty.
//
// The batch is read with the token of the longest-waiting requester. Defender
// shows each token only the actions of its device groups, so what that token
// does not return is read again, batched the same way, with each missing
// action's own requester's token. No action is ever taken with another
// analyst's token: these are status reads.
func (s *Service) RunPoll(ctx context.Context) error {
	rs, err := s.opt.Store.ListRequests(ctx, StateWaiting)
	if err != nil {
		return err
	}
	byAction := map[string][]*Request{}
	var order []string // actions, oldest request first
	for _, r := range rs {
		if r.ActionID == "" {
			continue
		}
		if byAction[r.ActionID] == nil {
			order = append(order, r.ActionID)
		}
		byAction[r.ActionID] = append(byAction[r.ActionID], r)
	}
	if len(order) == 0 {
		return nil
	}
	found, failed := s.readActions(ctx, order, byAction)
	for _, id := range order {
		for _, r := range byAction[id] {
			switch a, ok := found[id]; {
			case ok:
				s.observe(ctx, r, &a)
			case failed[id] != nil:
				s.stepFailed(ctx, r, failed[id])
			default:
				// Not returned: a just-created action can briefly be unknown.
				s.notSeen(ctx, r)
			}
		}
	}
	return nil
}

// readActions reads the actions with the first waiting requester's token,
// then what it could not see with each action's own requester's token. It
// returns the actions read and, for the others, the error their owner's
// read met (none when Defender simply did not return them).
func (s *Service) readActions(ctx context.Context, ids []string, byAction map[string][]*Request) (map[string]mde.MachineAction, map[string]error) {
	found := map[string]mde.MachineAction{}
	failed := map[string]error{}
	first := byAction[ids[0]][0]
	firstErr := s.merge(ctx, found, first, ids)
	missing := map[*Request][]string{} // owner -> the actions it alone may see
	var owners []*Request
	for _, id := range ids {
		if _, ok := found[id]; ok {
			continue
		}
		owner := byAction[id][0]
		if owner.Team == first.Team && owner.User == first.User {
			// Its own requester's token was tried already.
			if firstErr != nil {
				failed[id] = firstErr
			}
			continue
		}
		if missing[owner] == nil {
			owners = append(owners, owner)
		}
		missing[owner] = append(missing[owner], id)
	}
	for _, owner := range owners {
		if err := s.merge(ctx, found, owner, missing[owner]); err != nil {
			for _, id := range missing[owner] {
				if _, ok := found[id]; !ok {
					failed[id] = err
				}
			}
		}
	}
	return found, failed
}

// merge reads ids as r's requester into found; a failure of the read is
// returned (what was read before it is kept).
func (s *Service) merge(ctx context.Context, found map[string]mde.MachineAction, r *Request, ids []string) error {
	got, err := s.opt.Defender.ListMachineActionsByID(ctx, s.tokens(r.Team, r.User), ids)
	for id, a := range got {
		found[id] = a
	}
	if err != nil {
		s.logger(r.ID).WarnContext(ctx, "reading action statuses failed", "actions", len(ids), "err", err)
	}
	return err
}

// notSeen counts a poll that did not find r's action; the wait deadline
// ends one that never appears.
func (s *Service) notSeen(ctx context.Context, r *Request) {
	if s.now().After(r.WaitDeadline) {
		s.end(ctx, r, StateFailed, T("Defender does not show this action to you (any more); the wait ended (mde.wait_timeout)."), "")
		return
	}
	_ = s.update(ctx, r, func(x *Request) { x.Polls++ })
}

// observe applies a status Defender reported to a waiting request: success
// makes it ready for the fetch, a failure ends it, the wait deadline ends a
// wait that goes on, and any change is shown on its card.
func (s *Service) observe(ctx context.Context, r *Request, a *mde.MachineAction) {
	status := a.Status
	if r.LiveResponse() && status == mde.StatusSucceeded {
		// The action's own status can run ahead of its GetFile command's.
		done, failure := commandOutcome(a)
		if failure != "" {
			s.end(ctx, r, StateFailed, T(failure), "")
			return
		}
		if !done {
			status = mde.StatusInProgress
		}
	}
	switch status {
	case mde.StatusSucceeded:
		s.succeeded(ctx, r, a)
		return
	case mde.StatusFailed, mde.StatusTimeOut, mde.StatusCancelled:
		s.end(ctx, r, StateFailed, T(actionFailedText(a)), "")
		return
	}
	if s.now().After(r.WaitDeadline) {
		s.end(ctx, r, StateFailed, s.gaveUpText(r, a), "")
		return
	}
	changed := a.Status != r.LastStatus
	if err := s.update(ctx, r, func(x *Request) { x.LastStatus, x.Polls = a.Status, x.Polls+1 }); err != nil {
		s.logger(r.ID).WarnContext(ctx, "recording a status failed", "err", err)
		return
	}
	if changed {
		s.updateCard(ctx, r)
	}
}

// succeeded makes r ready for the fetch of its action's package or file.
func (s *Service) succeeded(ctx context.Context, r *Request, a *mde.MachineAction) {
	ok, err := s.move(ctx, r, step{to: StateReady, mutate: func(x *Request) {
		x.LastStatus, x.Polls, x.Detail = a.Status, 0, ""
		x.ActionCreated, x.ActionUpdated = a.CreationDateTimeUtc, a.LastUpdateDateTimeUtc
		if x.MachineName == "" {
			x.MachineName = a.ComputerDNSName
		}
	}})
	if err != nil || !ok {
		if err != nil {
			s.logger(r.ID).ErrorContext(ctx, "marking a request ready failed", "err", err)
		}
		return
	}
	s.auditReq(ctx, r, r.User, "action.succeeded", "ok", "")
	s.updateCard(ctx, r)
	// The fetch job serves every ready request of the action with one call.
	if err := s.opt.Jobs.StartFetch(ctx, r.ActionID, s.now()); err != nil {
		s.logger(r.ID).ErrorContext(ctx, "queueing the fetch failed; the sweep will", "err", err)
	}
}

// stepFailed handles an error from Defender or identity for a request
// waiting or starting: transient ones are tried again (until the wait
// deadline), the rest end the request. It returns when a job step should
// run again.
func (s *Service) stepFailed(ctx context.Context, r *Request, err error) Next {
	var me *mde.Error
	retry, after := transient(err)
	if !errors.Is(err, account.ErrNotLinked) && !errors.As(err, &me) {
		// Not Defender's answer: the authority, network or database may be down. Retry.
		retry = true
	}
	if retry && s.now().Before(r.WaitDeadline) {
		wait := max(s.opt.PollInterval, after, time.Duration(0))
		s.logger(r.ID).WarnContext(ctx, "transient failure; will retry", "err", err, "in", wait)
		_ = s.update(ctx, r, func(x *Request) { x.Polls++ })
		return Next{After: wait}
	}
	s.end(ctx, r, StateFailed, s.explain(ctx, err, "request_id", r.ID), "")
	return Next{}
}
