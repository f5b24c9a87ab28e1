package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
			if err := s.tell(ctx, r); err != nil {
				return Next{}, err
			}
			return Next{}, s.finishStep(ctx, r)
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
			// The status poller (RunPoll) reads every waiting request's action.
			return Next{}, nil
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
// collect requests or the live response session for getfile, then waiting.
func (s *Service) begin(ctx context.Context, r *Request) (Next, error) {
	// A batch's card is posted at its confirmation; a batch without one goes on without.
	if r.MessageTS == "" && r.BatchID == "" {
		if ts, err := s.opt.Messenger.Post(ctx, r.Channel, "", s.card(ctx, r)); err != nil {
			s.logger(r.ID).WarnContext(ctx, "posting the request message failed; continuing without it", "err", err)
		} else if err := s.update(ctx, r, func(x *Request) { x.MessageTS = ts }); err != nil {
			return Next{}, err
		}
	}
	if r.WaitDeadline.IsZero() {
		if err := s.update(ctx, r, func(x *Request) { x.WaitDeadline = s.now().Add(s.opt.WaitTimeout) }); err != nil {
			return Next{}, err
		}
	}
	if r.Kind == KindCollect && r.ActionID == "" {
		if next, done := s.startCollection(ctx, r); done {
			return next, nil
		}
	}
	if r.Kind == KindGetFile && r.ActionID == "" {
		if next, done, err := s.startLiveResponse(ctx, r); done {
			return next, err
		}
	}
	ok, err := s.move(ctx, r, step{to: StateWaiting})
	if err != nil || !ok {
		return Next{}, err
	}
	if r.LastStatus == mde.StatusSucceeded && !r.LiveResponse() {
		// The intake read the action as succeeded (for good: it is final):
		// no need to wait for the next status poll.
		s.succeeded(ctx, r, &mde.MachineAction{ID: r.ActionID, Status: r.LastStatus, ComputerDNSName: r.MachineName,
			CreationDateTimeUtc: r.ActionCreated, LastUpdateDateTimeUtc: r.ActionUpdated})
		return Next{}, nil
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
	if err := s.update(ctx, r, func(x *Request) { x.ActionID, x.LastStatus = a.ID, a.Status }); err != nil {
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

// gaveUpText says that mde.wait_timeout ended the wait, and how to resume.
func (s *Service) gaveUpText(r *Request, a *mde.MachineAction) Text {
	t := Tf("Gave up waiting after %s (mde.wait_timeout): the action is still %s in Defender. It may finish later; ask again then.",
		roundDuration(s.now().Sub(r.CreatedAt)), Code(a.Status))
	if !r.LiveResponse() {
		return t
	}
	// A command for an offline device waits in Defender for up to 3 days.
	return T(t, Tf(" The device may be offline; Defender keeps the live response command for up to 3 days. Resume with %s when %s shows it succeeded.",
		Code(s.opt.Command+" get "+r.ActionID), Code(s.opt.Command+" status "+r.ActionID)))
}

// actionFailedText says why Defender's action did not succeed, with its details.
func actionFailedText(a *mde.MachineAction) string {
	what := "The collection"
	if a.Type == mde.TypeLiveResponse {
		what = "The live response session"
	}
	t := fmt.Sprintf("%s failed in Defender: status %s.", what, a.Status)
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
	if errs := a.CommandErrors(); len(errs) > 0 {
		t += " The command reported: " + strings.Join(errs, "; ")
	}
	if a.ErrorHResult != 0 {
		t += fmt.Sprintf(" (HRESULT 0x%08X)", uint32(a.ErrorHResult))
	}
	return t
}
