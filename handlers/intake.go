package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mdebot/mdebot/mde"
)

// tokens is the requester's delegated token source for Defender calls.
func (s *Service) tokens(team, user string) mde.TokenSource {
	return mde.TokenFunc(func(ctx context.Context) (string, error) {
		return s.opt.Identity.Token(ctx, team, user)
	})
}

// receive stores a get or collect request as it is acknowledged, so that a
// crash before its checks ran loses nothing (the sweep picks it up).
func (s *Service) receive(ctx context.Context, c Command, p Parsed) (*Request, error) {
	now := s.now()
	// The transport's correlation id (random, 64 bits) becomes the request's
	// ID, so one id runs through the logs from Slack to the delivery.
	id := c.RequestID
	if len(id) < 16 {
		id = randomHex(8)
	}
	kind := KindGet
	if p.Verb == VerbCollect {
		kind = KindCollect
	}
	r := &Request{
		ID: id, Team: c.Team, Channel: c.Channel, ChannelName: c.ChannelName, User: c.User, Kind: kind,
		Target: p.Target, Comment: p.Comment, ResponseURL: c.ResponseURL, State: StateReceived,
		CreatedAt: now, UpdatedAt: now,
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return r, s.opt.Store.CreateRequest(ctx, r)
}

// intake runs a received request's checks (policy, the requester's link,
// Defender) and moves it on: to approval, to its job, to the collect
// confirmation, or to a told failure. Run twice (after a crash), the second
// run finds the request moved on and stops.
func (s *Service) intake(ctx context.Context, r *Request) {
	rule, name, err := s.authorize(ctx, r.Channel, r.ChannelName, r.User)
	if err != nil {
		s.refuse(ctx, r, err)
		return
	}
	if r.Kind == KindCollect {
		s.intakeCollect(ctx, r, rule, name)
		return
	}
	a, err := patiently(ctx, func(ctx context.Context) (*mde.MachineAction, error) {
		return s.opt.Defender.GetMachineAction(ctx, s.tokens(r.Team, r.User), r.Target)
	})
	if err != nil {
		s.refuse(ctx, r, err)
		return
	}
	if a.Type != mde.TypeCollectInvestigationPackage {
		s.refuse(ctx, r, errorf(CodeInvalid,
			"Action `%s` is a %s action, not %s: only investigation package collections have a package.", a.ID, a.Type, mde.TypeCollectInvestigationPackage))
		return
	}
	// A collection that already failed needs no approval: it ends at once.
	approval := rule.Approval.Required && (!a.Terminal() || a.Status == mde.StatusSucceeded)
	ok, err := s.transition(ctx, r, []State{StateReceived}, func(x *Request) {
		x.ChannelName, x.Delivery = name, rule.Delivery
		x.ActionID, x.MachineID, x.MachineName, x.LastStatus = a.ID, a.MachineID, a.ComputerDNSName, a.Status
		x.State = StateApproved
		if approval {
			x.State = StateAwaitingApproval
			x.RequiredApprovals = max(rule.Approval.RequiredApprovals, 1)
			x.Approvers = rule.Approval.Approvers
			x.ExpiresAt = s.now().Add(rule.Approval.ExpiresAfter)
		}
	})
	if err != nil || !ok {
		s.intakeLost(ctx, r, err)
		return
	}
	s.auditReq(ctx, r, r.User, "request.created", string(r.State), "")
	s.opt.Metrics.Command(string(r.Kind), "ok")
	if r.State == StateApproved {
		s.start(ctx, r)
		return
	}
	s.askApproval(ctx, r, recipient(r))
}

// intakeCollect resolves the device and asks the requester to confirm.
func (s *Service) intakeCollect(ctx context.Context, r *Request, rule *ChannelRule, name string) {
	ms, err := patiently(ctx, func(ctx context.Context) ([]mde.Machine, error) {
		return s.opt.Defender.FindMachine(ctx, s.tokens(r.Team, r.User), r.Target)
	})
	if err != nil {
		s.refuse(ctx, r, err)
		return
	}
	if len(ms) > 1 {
		var b strings.Builder
		fmt.Fprintf(&b, "Several devices match `%s`; nothing was started. Run `%s collect <machine-id>` with one of:", r.Target, s.opt.Command)
		for _, m := range ms {
			fmt.Fprintf(&b, "\n• %s: `%s` (%s, last seen %s)", m.ComputerDNSName, m.ID, m.OSPlatform, utcTime(m.LastSeen))
		}
		s.refuse(ctx, r, errorf(CodeAmbiguous, "%s", b.String()))
		return
	}
	m := ms[0]
	ok, err := s.transition(ctx, r, []State{StateReceived}, func(x *Request) {
		x.ChannelName, x.Delivery = name, rule.Delivery
		x.MachineID, x.MachineName = m.ID, m.ComputerDNSName
		x.State, x.ExpiresAt = StateAwaitingConfirmation, s.now().Add(s.opt.ConfirmTTL)
	})
	if err != nil || !ok {
		s.intakeLost(ctx, r, err)
		return
	}
	s.auditReq(ctx, r, r.User, "request.created", "awaiting_confirmation", "collect "+r.Target)
	s.opt.Metrics.Command(VerbCollect, "ok")
	s.reply(ctx, recipient(r), r.ID, Message{
		Header: fmt.Sprintf("Collect an investigation package from %s?", m.ComputerDNSName),
		Fields: []Field{
			{Label: "Machine", Value: machineLabel(m.ComputerDNSName, m.ID)},
			{Label: "OS", Value: strings.TrimSpace(m.OSPlatform + " " + m.OSVersion)},
			{Label: "Last seen", Value: utcTime(m.LastSeen)},
			{Label: "Health", Value: m.HealthStatus},
		},
		Text:    commentLine(r.Comment),
		Next:    "Confirm to start the collection in Defender as you. " + approvalHint(rule),
		Buttons: []Button{{Label: "Confirm", ActionID: ActionConfirm, Value: r.ID, Style: "primary"}, {Label: "Cancel", ActionID: ActionCancel, Value: r.ID}},
		Context: fmt.Sprintf("Request %s · this confirmation expires in %s", r.ID, s.opt.ConfirmTTL),
	})
}

// refuse ends a received request whose checks failed, and tells the
// requester why. A cancelled context (shutdown, job timeout) ends nothing:
// the request stays received and is checked again.
func (s *Service) refuse(ctx context.Context, r *Request, err error) {
	if ctx.Err() != nil {
		s.logger(r.ID).WarnContext(ctx, "intake interrupted; it will run again", "err", err)
		return
	}
	s.opt.Metrics.Command(string(r.Kind), outcomeOf(err))
	// Only the request's job tells (River runs one at a time per request), so
	// an intake run twice after a crash cannot tell twice.
	if s.finish(ctx, r, StateFailed, s.explain(ctx, err, "request_id", r.ID, "user", r.User), "") {
		s.start(ctx, r)
	}
}

// intakeLost logs an intake whose request moved on meanwhile (another run
// took it) or could not be written; the sweep retries a request left received.
func (s *Service) intakeLost(ctx context.Context, r *Request, err error) {
	if err != nil {
		s.logger(r.ID).ErrorContext(ctx, "intake could not record its result; the sweep retries", "err", err)
	}
}

// recipient addresses the requester privately.
func recipient(r *Request) Recipient {
	return Recipient{Team: r.Team, Channel: r.Channel, User: r.User, ResponseURL: r.ResponseURL}
}

func commentLine(c string) string {
	if c == "" {
		return ""
	}
	return "Comment: " + c
}

func approvalHint(rule *ChannelRule) string {
	if rule.Approval.Required {
		return "This channel needs approval before the package is delivered."
	}
	return ""
}

// start queues a request's job; when that fails the sweeper queues it later.
func (s *Service) start(ctx context.Context, r *Request) {
	if err := s.opt.Jobs.StartRequest(ctx, r.ID); err != nil {
		s.logger(r.ID).ErrorContext(ctx, "queue request job failed; the sweeper will retry", "err", err)
	}
}

// askApproval posts the approval message in the channel and tells the requester.
func (s *Service) askApproval(ctx context.Context, r *Request, rec Recipient) {
	ts, err := s.opt.Messenger.Post(ctx, r.Channel, "", s.card(ctx, r))
	if err != nil {
		s.logger(r.ID).ErrorContext(ctx, "approval message failed", "err", err)
		s.finish(ctx, r, StateFailed, "The approval request could not be posted in this channel (is the bot a member? Invite it with `/invite`). Nothing was fetched.", "")
		return
	}
	if err := s.save(ctx, r, func(x *Request) { x.MessageTS = ts }); err != nil {
		s.logger(r.ID).ErrorContext(ctx, "saving approval message ts failed", "err", err)
	}
	s.auditReq(ctx, r, r.User, "approval.requested", "pending", mentionAll(r.Approvers))
	s.reply(ctx, rec, r.ID, Message{
		Header: "Approval requested",
		Text:   fmt.Sprintf("Your request needs approval: ask an approver in <#%s> (%s). You will be told the outcome here.", r.Channel, mentionAll(r.Approvers)),
		Fields: s.requestFields(r),
	})
}
