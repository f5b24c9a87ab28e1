package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/mde"
)

// RunRequest runs a request's job: one or more steps of its lifecycle, until
// it must wait (Next.After) or has nothing left to do. An error makes the job
// runner retry with backoff.
func (s *Service) RunRequest(ctx context.Context, id string) (Next, error) {
	r, err := s.opt.Store.GetRequest(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Next{}, nil
	}
	if err != nil {
		return Next{}, err
	}
	for range 4 {
		switch {
		case r.State.Terminal():
			return Next{}, s.tell(ctx, r)
		case r.State == StateReceived:
			// The process that acknowledged it died before the checks ran.
			s.intake(ctx, r)
			if r.State == StateReceived {
				return Next{}, ctx.Err() // interrupted again: retry
			}
		case r.State == StateApproved:
			next, err := s.begin(ctx, r)
			if err != nil || next.After > 0 {
				return next, err
			}
		case r.State == StateWaiting:
			next, err := s.poll(ctx, r)
			if err != nil || next.After > 0 || !r.State.Terminal() {
				return next, err
			}
		case r.State == StateReady:
			return Next{}, s.opt.Jobs.StartFetch(ctx, r.ActionID, s.now())
		default:
			// Awaiting a click, or claimed by a fetch job: someone else moves it.
			return Next{}, nil
		}
	}
	return Next{}, nil
}

// begin starts an approved request: its channel message, the collection for
// collect requests, then waiting.
func (s *Service) begin(ctx context.Context, r *Request) (Next, error) {
	if r.MessageTS == "" {
		if ts, err := s.opt.Messenger.Post(ctx, r.Channel, "", s.card(ctx, r)); err != nil {
			s.logger(r.ID).WarnContext(ctx, "posting the request message failed; continuing without it", "err", err)
		} else if err := s.save(ctx, r, func(x *Request) { x.MessageTS = ts }); err != nil {
			return Next{}, err
		}
	}
	if r.WaitDeadline.IsZero() {
		if err := s.save(ctx, r, func(x *Request) { x.WaitDeadline = s.now().Add(s.opt.WaitTimeout) }); err != nil {
			return Next{}, err
		}
	}
	if r.Kind == KindCollect && r.ActionID == "" {
		if next, done := s.startCollection(ctx, r); done {
			return next, nil
		}
	}
	ok, err := s.transition(ctx, r, []State{StateApproved}, func(x *Request) { x.State = StateWaiting })
	if err != nil || !ok {
		return Next{}, err
	}
	s.updateCard(ctx, r)
	return Next{}, nil
}

// startCollection asks Defender to collect, attaching to a collection already
// running on the device. done reports that the step ended here (waiting to
// retry, or the request finished).
func (s *Service) startCollection(ctx context.Context, r *Request) (Next, bool) {
	ts := s.tokens(r.Team, r.User)
	comment := fmt.Sprintf("mdebot: investigation package requested in Slack by %s in #%s (%s)", r.User, r.ChannelName, r.Channel)
	if r.Comment != "" {
		comment += ": " + r.Comment
	}
	a, err := s.opt.Defender.CollectInvestigationPackage(ctx, ts, r.MachineID, comment)
	event := "collect.started"
	var me *mde.Error
	if errors.As(err, &me) && me.Kind == mde.KindAlreadyRunning {
		a, err = s.runningCollection(ctx, ts, r.MachineID)
		event = "collect.attached"
		if err == nil && a == nil {
			// It finished between the two calls: ask again shortly.
			return Next{After: s.opt.PollInterval}, true
		}
	}
	if err != nil {
		return s.stepFailed(ctx, r, err), true
	}
	if err := s.save(ctx, r, func(x *Request) { x.ActionID, x.LastStatus = a.ID, a.Status }); err != nil {
		return Next{After: s.opt.PollInterval}, true
	}
	s.auditReq(ctx, r, r.User, event, "ok", "")
	return Next{}, false
}

// runningCollection finds the newest Pending or InProgress collection on a device.
func (s *Service) runningCollection(ctx context.Context, ts mde.TokenSource, machineID string) (*mde.MachineAction, error) {
	list, err := s.opt.Defender.ListMachineActions(ctx, ts, mde.ActiveCollectionFilter(machineID))
	if err != nil || len(list) == 0 {
		return nil, err
	}
	slices.SortFunc(list, func(a, b mde.MachineAction) int { return b.CreationDateTimeUtc.Compare(a.CreationDateTimeUtc) })
	return &list[0], nil
}

// poll checks the action once and decides what follows.
func (s *Service) poll(ctx context.Context, r *Request) (Next, error) {
	a, err := s.opt.Defender.GetMachineAction(ctx, s.tokens(r.Team, r.User), r.ActionID)
	if err != nil {
		return s.stepFailed(ctx, r, err), nil
	}
	switch a.Status {
	case mde.StatusSucceeded:
		ok, err := s.transition(ctx, r, []State{StateWaiting}, func(x *Request) {
			x.State, x.LastStatus, x.Polls, x.Detail = StateReady, a.Status, 0, ""
			if x.MachineName == "" {
				x.MachineName = a.ComputerDNSName
			}
		})
		if err != nil || !ok {
			return Next{}, err
		}
		s.auditReq(ctx, r, r.User, "action.succeeded", "ok", "")
		s.updateCard(ctx, r)
		// The fetch job gathers concurrent asks for this action into one getPackageUri call.
		return Next{}, s.opt.Jobs.StartFetch(ctx, r.ActionID, s.now())
	case mde.StatusFailed, mde.StatusTimeOut, mde.StatusCancelled:
		s.finish(ctx, r, StateFailed, actionFailedText(a), "")
		return Next{}, nil
	}
	if s.now().After(r.WaitDeadline) {
		s.finish(ctx, r, StateFailed, fmt.Sprintf("Gave up waiting after %s (mde.wait_timeout): the action is still `%s` in Defender. It may finish later; ask again then.",
			roundDuration(s.now().Sub(r.CreatedAt)), a.Status), "")
		return Next{}, nil
	}
	changed := a.Status != r.LastStatus
	if err := s.save(ctx, r, func(x *Request) { x.LastStatus, x.Polls = a.Status, x.Polls+1 }); err != nil {
		return Next{}, err
	}
	if changed || r.Polls%2 == 0 {
		s.updateCard(ctx, r)
	}
	return Next{After: s.pollDelay(r.Polls)}, nil
}

// pollDelay backs off from mde.poll_interval to four times it.
func (s *Service) pollDelay(polls int) time.Duration {
	switch {
	case polls < 8:
		return s.opt.PollInterval
	case polls < 16:
		return 2 * s.opt.PollInterval
	}
	return 4 * s.opt.PollInterval
}

// actionFailedText says why Defender's action did not succeed, with its details.
func actionFailedText(a *mde.MachineAction) string {
	t := fmt.Sprintf("The collection failed in Defender: status `%s`.", a.Status)
	switch {
	case a.Status == mde.StatusCancelled && a.CancellationRequestor != "":
		t += fmt.Sprintf(" Cancelled by %s", a.CancellationRequestor)
		if a.CancellationComment != "" {
			t += ": " + a.CancellationComment
		}
		t += "."
	case a.Status == mde.StatusTimeOut:
		t += " The device did not complete it in time (offline, metered connection or low battery are common causes)."
	}
	if a.TroubleshootInfo != "" {
		t += " Defender says: " + a.TroubleshootInfo
	}
	if a.ErrorHResult != 0 {
		t += fmt.Sprintf(" (HRESULT 0x%08X)", uint32(a.ErrorHResult))
	}
	return t
}

// stepFailed handles an error from Defender or identity during a job step:
// transient ones wait and retry (until the wait deadline), the rest end the request.
func (s *Service) stepFailed(ctx context.Context, r *Request, err error) Next {
	var me *mde.Error
	retry, after := transient(err)
	if !errors.Is(err, identity.ErrNotLinked) && !errors.As(err, &me) {
		// Not Defender's answer: the authority, network or database may be down. Retry.
		retry = true
	}
	if retry && s.now().Before(r.WaitDeadline) {
		wait := max(s.pollDelay(r.Polls), after)
		s.logger(r.ID).WarnContext(ctx, "transient failure; will retry", "err", err, "in", wait)
		_ = s.save(ctx, r, func(x *Request) { x.Polls++ })
		return Next{After: wait}
	}
	s.finish(ctx, r, StateFailed, s.explain(ctx, err, "request_id", r.ID), "")
	return Next{}
}
