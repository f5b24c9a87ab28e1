package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Click handles a button click: approvals and collect confirmations. The
// request is found from the button's value, never from process memory, so
// any replica can take the click.
func (s *Service) Click(_ context.Context, c Click) Ack {
	return Ack{Work: func(ctx context.Context) { s.click(ctx, c) }}
}

func (s *Service) click(ctx context.Context, c Click) {
	rec := Recipient{Team: c.Team, Channel: c.Channel, User: c.User, ResponseURL: c.ResponseURL}
	switch c.ActionID {
	case ActionSignIn, ActionSignOut:
		s.homeAccountClick(ctx, c)
		return
	case ActionFromMessage:
		s.fromMessage(ctx, c)
		return
	case ActionApprove, ActionDeny:
		// The clicker's Home tab lists what waits for them: show the change.
		defer s.homeChanged(c.Team, c.User)
	}
	r, err := s.opt.Store.GetRequest(ctx, c.Value)
	if errors.Is(err, ErrNotFound) || (err == nil && !clickBelongs(c, r)) {
		if err == nil {
			s.auditReq(ctx, r, c.User, "click.refused", "refused", "a button from another workspace, channel or message")
		}
		s.reply(ctx, rec, c.RequestID, Message{Header: T("Nothing to do"), Text: T("This request does not exist (any more).")})
		return
	}
	if err != nil {
		s.reply(ctx, rec, c.RequestID, Message{Header: T("That did not work"), Text: s.explain(ctx, err, "request_id", c.RequestID)})
		return
	}
	switch c.ActionID {
	case ActionApprove, ActionDeny:
		s.decide(ctx, c, rec, r, c.ActionID == ActionApprove)
	case ActionConfirm, ActionCancel:
		s.confirm(ctx, c, rec, r, c.ActionID == ActionConfirm)
	case ActionDownload:
		s.download(ctx, c, rec, r)
	default:
		s.logger(c.RequestID).WarnContext(ctx, "unknown button", "action_id", c.ActionID)
	}
}

// clickBelongs reports whether a click counts for r: it must come from the
// request's own workspace and (but for Download) channel and, for approvals,
// from the approval message when it is known, or from the clicker's own App
// Home tab. A button value copied elsewhere counts for nothing.
func clickBelongs(c Click, r *Request) bool {
	if c.Team != r.Team {
		return false
	}
	if c.ActionID == ActionDownload {
		// Delivered privately too (a DM): who may download is mayDownload's call.
		return true
	}
	if c.Surface == SurfaceHome {
		// Slack shows a Home tab to its own user only, and it lists the
		// approvals waiting for them: Approve and Deny count from there,
		// with every other check (self-approval, approvers, expiry) decide's,
		// exactly as in the channel. Nothing else is offered there.
		return c.ActionID == ActionApprove || c.ActionID == ActionDeny
	}
	if c.Channel != r.Channel {
		return false
	}
	approval := c.ActionID == ActionApprove || c.ActionID == ActionDeny
	return !approval || r.MessageTS == "" || c.MessageTS == r.MessageTS
}

// decide records an approver's click. The decision is judged at the instant
// it is recorded: after the window closed it only expires the request, and it
// cannot undo a decision that already moved the request on.
func (s *Service) decide(ctx context.Context, c Click, rec Recipient, r *Request, approve bool) {
	verb := map[bool]string{true: "approve", false: "deny"}[approve]
	if r.State != StateAwaitingApproval {
		s.alreadyMoved(ctx, rec, r)
		return
	}
	if c.User == r.User {
		s.auditReq(ctx, r, c.User, "approval.refused", "refused", "self-approval")
		s.reply(ctx, rec, r.ID, Message{Header: T("Nothing changed"), Text: Tf("You cannot %s your own request: another approver must (%s).", verb, mentionAll(r.Approvers))})
		return
	}
	ok, err := s.member(ctx, c.User, r.Approvers)
	if err != nil {
		s.reply(ctx, rec, r.ID, Message{Header: T("That did not work"), Text: s.explain(ctx, err, "request_id", r.ID)})
		return
	}
	if !ok {
		s.auditReq(ctx, r, c.User, "approval.refused", "refused", "not an approver")
		s.reply(ctx, rec, r.ID, Message{Header: T("Nothing changed"), Text: Tf("You cannot %s this request: you are not one of its approvers (%s).", verb, mentionAll(r.Approvers))})
		return
	}
	at := s.now()
	if !at.Before(r.ExpiresAt) {
		s.lapsed(ctx, c, rec, r, "approval.refused")
		return
	}
	if !approve {
		s.deny(ctx, c, rec, r, at)
		return
	}
	added, err := s.opt.Store.AddDecision(ctx, Decision{RequestID: r.ID, Approver: c.User, Approve: true, At: at})
	if err != nil {
		s.reply(ctx, rec, r.ID, Message{Header: T("That did not work"), Text: s.explain(ctx, err, "request_id", r.ID)})
		return
	}
	if !added {
		// A double click or a redelivery counted once already, or the request
		// moved on (or its window closed) between the read and the click.
		s.notRecorded(ctx, c, rec, r, at)
		return
	}
	s.auditReq(ctx, r, c.User, "approval.approved", "approved", "")
	ds, err := s.opt.Store.Decisions(ctx, r.ID)
	if err != nil {
		s.logger(r.ID).ErrorContext(ctx, "reading decisions failed", "err", err)
		return
	}
	approvals := 0
	for _, d := range ds {
		if d.Approve {
			approvals++
		}
	}
	if approvals < r.RequiredApprovals {
		s.updateCard(ctx, r)
		return
	}
	// Judged at the approval's own instant: it was recorded while the window
	// was open, so it counts even if the window closes while this runs.
	moved, err := s.move(ctx, r, step{to: StateApproved, at: at, actor: c.User})
	if err != nil {
		s.logger(r.ID).ErrorContext(ctx, "approving failed", "err", err)
		return
	}
	if !moved {
		if r.State != StateApproved {
			s.alreadyMoved(ctx, rec, r)
		}
		return
	}
	s.updateCard(ctx, r)
	s.reply(ctx, recipient(r), r.ID, Message{
		Header: T("Your request was approved"),
		Text:   Tf("Approved by %s. The bot now works on it as you; you will be told when the package is delivered.", User(c.User)),
		Fields: s.requestFields(r),
	})
}

// deny ends the request as denied, if it is still awaiting approval at the
// instant of the click.
func (s *Service) deny(ctx context.Context, c Click, rec Recipient, r *Request, at time.Time) {
	moved, err := s.move(ctx, r, step{to: StateDenied, at: at, actor: c.User, mutate: func(x *Request) {
		x.DecidedBy, x.Detail = c.User, fmt.Sprintf("Denied by %s at %s UTC.", c.User, at.Format("15:04"))
	}})
	if err != nil {
		s.reply(ctx, rec, r.ID, Message{Header: T("That did not work"), Text: s.explain(ctx, err, "request_id", r.ID)})
		return
	}
	if !moved {
		s.alreadyMoved(ctx, rec, r)
		return
	}
	s.auditReq(ctx, r, c.User, "approval.denied", "denied", "")
}

// notRecorded explains an approval the store did not record.
func (s *Service) notRecorded(ctx context.Context, c Click, rec Recipient, r *Request, at time.Time) {
	fresh, err := s.opt.Store.GetRequest(ctx, r.ID)
	if err != nil {
		s.logger(r.ID).ErrorContext(ctx, "reading the request after a refused decision failed", "err", err)
		return
	}
	switch {
	case fresh.State == StateAwaitingApproval && !at.Before(fresh.ExpiresAt):
		s.lapsed(ctx, c, rec, fresh, "approval.refused")
	case fresh.State != StateAwaitingApproval:
		s.alreadyMoved(ctx, rec, fresh)
	}
	// Otherwise this approver's decision was recorded by an earlier click.
}

// lapsed handles a click after the request's window closed: the request
// expires (if nothing else ended it first), the clicker is told, and the
// refused click is audited.
func (s *Service) lapsed(ctx context.Context, c Click, rec Recipient, r *Request, event string) {
	s.auditReq(ctx, r, c.User, event, "refused", "clicked after the window closed at "+utcTime(r.ExpiresAt))
	if !s.expire(ctx, r, c.User) && r.State != StateExpired {
		s.alreadyMoved(ctx, rec, r)
		return
	}
	s.reply(ctx, rec, r.ID, Message{Header: T("Nothing changed"), Text: Tf(
		"This request expired at %s, before your click: %s", utcTime(r.ExpiresAt), r.Detail)})
}

// alreadyMoved tells a clicker the request is no longer where their click applied.
func (s *Service) alreadyMoved(ctx context.Context, rec Recipient, r *Request) {
	s.reply(ctx, rec, r.ID, Message{Header: T("Nothing changed"), Text: Tf("This request is already %s.", stateWords(r.State))})
}

// confirm handles the requester's Confirm or Cancel on a collect or getfile
// request (for a batch, on all its devices still awaiting confirmation).
func (s *Service) confirm(ctx context.Context, c Click, rec Recipient, r *Request, yes bool) {
	if c.User != r.User {
		s.reply(ctx, rec, r.ID, Message{Header: T("Nothing changed"), Text: T("Only the requester can confirm or cancel this " + askedFor(r) + ".")})
		return
	}
	if r.State != StateAwaitingConfirmation {
		s.alreadyMoved(ctx, rec, r)
		return
	}
	at := s.now()
	if !at.Before(r.ExpiresAt) {
		s.lapsed(ctx, c, rec, r, "confirmation.refused")
		return
	}
	if r.BatchID != "" {
		s.confirmBatch(ctx, c, rec, r, yes, at)
		return
	}
	if !yes {
		if ok, err := s.move(ctx, r, step{to: StateCancelled, at: at, actor: c.User, mutate: func(x *Request) {
			x.Detail = "Cancelled by the requester before anything was started."
		}}); err != nil || !ok {
			s.alreadyMoved(ctx, rec, r)
		}
		return
	}
	rule, _, err := s.channelRule(ctx, r.Channel)
	if err != nil {
		s.end(ctx, r, StateFailed, s.explain(ctx, err, "request_id", r.ID), "")
		return
	}
	to := StateApproved
	if rule.Approval.NeededFor(r.Kind) {
		to = StateAwaitingApproval
	}
	moved, err := s.move(ctx, r, step{to: to, at: at, actor: c.User, mutate: func(x *Request) {
		x.ExpiresAt, x.ExpiresAfter = time.Time{}, 0
		if to == StateAwaitingApproval {
			s.openApproval(x, rule)
		}
	}})
	if err != nil {
		s.reply(ctx, rec, r.ID, Message{Header: T("That did not work"), Text: s.explain(ctx, err, "request_id", r.ID)})
		return
	}
	if !moved {
		s.alreadyMoved(ctx, rec, r)
		return
	}
	s.auditReq(ctx, r, c.User, "request.confirmed", string(r.State), "")
	if r.State == StateAwaitingApproval {
		s.askApproval(ctx, r, rec)
		return
	}
	if r.Kind == KindGetFile {
		s.reply(ctx, rec, r.ID, Message{Header: T("File request confirmed"), Text: Tf("Fetching %s from %s with live response as you. Progress appears in the channel.", Code(r.Path), r.MachineName)})
		return
	}
	s.reply(ctx, rec, r.ID, Message{Header: T("Collection confirmed"), Text: Tf("Starting the collection on %s as you. Progress appears in the channel.", r.MachineName)})
}

// stateWords names a state for people.
func stateWords(st State) string {
	switch st {
	case StateAwaitingApproval:
		return "waiting for approval"
	case StateAwaitingConfirmation:
		return "waiting for the requester's confirmation"
	case StateApproved, StateWaiting, StateReady, StateFetching:
		return "approved and in progress"
	}
	return string(st)
}
