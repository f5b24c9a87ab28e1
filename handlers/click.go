package handlers

import (
	"context"
	"errors"
	"fmt"
)

// Click handles a button click: approvals and collect confirmations. The
// request is found from the button's value, never from process memory, so
// any replica can take the click.
func (s *Service) Click(_ context.Context, c Click) Ack {
	return Ack{Work: func(ctx context.Context) { s.click(ctx, c) }}
}

func (s *Service) click(ctx context.Context, c Click) {
	rec := Recipient{Team: c.Team, Channel: c.Channel, User: c.User, ResponseURL: c.ResponseURL}
	r, err := s.opt.Store.GetRequest(ctx, c.Value)
	if errors.Is(err, ErrNotFound) || (err == nil && r.Team != c.Team) {
		s.reply(ctx, rec, c.RequestID, Message{Header: "Nothing to do", Text: "This request does not exist (any more)."})
		return
	}
	if err != nil {
		s.reply(ctx, rec, c.RequestID, Message{Header: "That did not work", Text: s.explain(ctx, err, "request_id", c.RequestID)})
		return
	}
	switch c.ActionID {
	case ActionApprove, ActionDeny:
		s.decide(ctx, c, rec, r, c.ActionID == ActionApprove)
	case ActionConfirm, ActionCancel:
		s.confirm(ctx, c, rec, r, c.ActionID == ActionConfirm)
	default:
		s.logger(c.RequestID).WarnContext(ctx, "unknown button", "action_id", c.ActionID)
	}
}

// decide records an approver's click.
func (s *Service) decide(ctx context.Context, c Click, rec Recipient, r *Request, approve bool) {
	verb := map[bool]string{true: "approve", false: "deny"}[approve]
	if r.State != StateAwaitingApproval {
		s.reply(ctx, rec, r.ID, Message{Header: "Nothing changed", Text: fmt.Sprintf("This request is already %s.", stateWords(r.State))})
		return
	}
	if c.User == r.User {
		s.auditReq(ctx, r, c.User, "approval.refused", "refused", "self-approval")
		s.reply(ctx, rec, r.ID, Message{Header: "Nothing changed", Text: fmt.Sprintf("You cannot %s your own request: another approver must (%s).", verb, mentionAll(r.Approvers))})
		return
	}
	ok, err := s.member(ctx, c.User, r.Approvers)
	if err != nil {
		s.reply(ctx, rec, r.ID, Message{Header: "That did not work", Text: s.explain(ctx, err, "request_id", r.ID)})
		return
	}
	if !ok {
		s.auditReq(ctx, r, c.User, "approval.refused", "refused", "not an approver")
		s.reply(ctx, rec, r.ID, Message{Header: "Nothing changed", Text: fmt.Sprintf("You cannot %s this request: you are not one of its approvers (%s).", verb, mentionAll(r.Approvers))})
		return
	}
	added, err := s.opt.Store.AddDecision(ctx, Decision{RequestID: r.ID, Approver: c.User, Approve: approve, At: s.now()})
	if err != nil {
		s.reply(ctx, rec, r.ID, Message{Header: "That did not work", Text: s.explain(ctx, err, "request_id", r.ID)})
		return
	}
	if !added {
		return // a double click or a redelivery: it counted once already
	}
	if !approve {
		s.auditReq(ctx, r, c.User, "approval.denied", "denied", "")
		if s.finish(ctx, r, StateDenied, fmt.Sprintf("Denied by <@%s> at %s UTC.", c.User, s.now().Format("15:04")), c.User) {
			s.start(ctx, r)
		}
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
	moved, err := s.transition(ctx, r, []State{StateAwaitingApproval}, func(x *Request) { x.State = StateApproved })
	if err != nil || !moved {
		if err != nil {
			s.logger(r.ID).ErrorContext(ctx, "approving failed", "err", err)
		}
		return
	}
	s.updateCard(ctx, r)
	s.start(ctx, r)
	s.reply(ctx, recipient(r), r.ID, Message{
		Header: "Your request was approved",
		Text:   fmt.Sprintf("Approved by <@%s>. The bot now works on it as you; you will be told when the package is delivered.", c.User),
		Fields: s.requestFields(r),
	})
}

// confirm handles the requester's Confirm or Cancel on a collect request.
func (s *Service) confirm(ctx context.Context, c Click, rec Recipient, r *Request, yes bool) {
	if c.User != r.User {
		s.reply(ctx, rec, r.ID, Message{Header: "Nothing changed", Text: "Only the requester can confirm or cancel this collection."})
		return
	}
	if r.State != StateAwaitingConfirmation {
		s.reply(ctx, rec, r.ID, Message{Header: "Nothing changed", Text: fmt.Sprintf("This request is already %s.", stateWords(r.State))})
		return
	}
	if !yes {
		if s.finish(ctx, r, StateCancelled, "Cancelled by the requester before anything was started.", c.User) {
			s.start(ctx, r)
		}
		return
	}
	rule, _, err := s.channelRule(ctx, r.Channel)
	if err != nil {
		s.finish(ctx, r, StateFailed, s.explain(ctx, err, "request_id", r.ID), "")
		s.start(ctx, r)
		return
	}
	moved, err := s.transition(ctx, r, []State{StateAwaitingConfirmation}, func(x *Request) {
		x.State = StateApproved
		if rule.Approval.Required {
			x.State = StateAwaitingApproval
			x.RequiredApprovals = max(rule.Approval.RequiredApprovals, 1)
			x.Approvers = rule.Approval.Approvers
			x.ExpiresAt = s.now().Add(rule.Approval.ExpiresAfter)
		}
	})
	if err != nil || !moved {
		if err != nil {
			s.reply(ctx, rec, r.ID, Message{Header: "That did not work", Text: s.explain(ctx, err, "request_id", r.ID)})
		}
		return
	}
	s.auditReq(ctx, r, c.User, "request.confirmed", string(r.State), "")
	if r.State == StateAwaitingApproval {
		s.askApproval(ctx, r, rec)
		return
	}
	s.start(ctx, r)
	s.reply(ctx, rec, r.ID, Message{Header: "Collection confirmed", Text: fmt.Sprintf("Starting the collection on %s as you. Progress appears in the channel.", r.MachineName)})
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
