package handlers

import (
	"context"
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
	switch p.Verb {
	case VerbCollect:
		kind = KindCollect
	case VerbGetFile:
		kind = KindGetFile
	}
	r := &Request{
		ID: id, Team: c.Team, Channel: c.Channel, ChannelName: c.ChannelName, User: c.User, Kind: kind,
		Target: p.Target, Path: p.Path, Comment: p.Comment, ResponseURL: c.ResponseURL, State: StateReceived,
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
	if r.BatchID != "" {
		s.intakeBatch(ctx, r)
		return
	}
	rule, name, err := s.authorize(ctx, r.Channel, r.ChannelName, r.User)
	if err == nil {
		err = s.withinFairShare(ctx, r)
	}
	if err != nil {
		s.refuse(ctx, r, err)
		return
	}
	if r.Kind == KindCollect || r.Kind == KindGetFile {
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
	var path string
	switch a.Type {
	case mde.TypeCollectInvestigationPackage:
	case mde.TypeLiveResponse:
		// The result of a getfile that outlived mde.wait_timeout, or of a
		// session started in the portal: delivered like a getfile.
		var ok bool
		if path, _, ok = getFilePath(a); !ok {
			s.refuse(ctx, r, errorf(CodeInvalid, "Action %s is a live response session without a GetFile command: only GetFile results can be delivered.", Code(a.ID)))
			return
		}
	default:
		s.refuse(ctx, r, errorf(CodeInvalid,
			"Action %s is a %s action, not %s: only investigation package collections have a package.", Code(a.ID), a.Type, mde.TypeCollectInvestigationPackage))
		return
	}
	// An action that already failed needs no approval: it ends at once.
	to := StateApproved
	if rule.Approval.NeededFor(r.Kind) && (!a.Terminal() || a.Status == mde.StatusSucceeded) {
		to = StateAwaitingApproval
	}
	ok, err := s.move(ctx, r, step{to: to, mutate: func(x *Request) {
		x.ChannelName, x.Delivery, x.Path = name, rule.Delivery, path
		x.ActionID, x.MachineID, x.MachineName, x.LastStatus = a.ID, a.MachineID, a.ComputerDNSName, a.Status
		x.ActionCreated, x.ActionUpdated = a.CreationDateTimeUtc, a.LastUpdateDateTimeUtc
		if to == StateAwaitingApproval {
			s.openApproval(x, rule)
		}
	}})
	if err != nil || !ok {
		s.intakeLost(ctx, r, err)
		return
	}
	s.auditReq(ctx, r, r.User, "request.created", string(r.State), "")
	s.opt.Metrics.Command(string(r.Kind), "ok")
	if r.State == StateAwaitingApproval {
		s.askApproval(ctx, r, recipient(r))
	}
}

// openApproval captures the channel's approval rule on the request and opens
// its decision window.
func (s *Service) openApproval(x *Request, rule *ChannelRule) {
	x.RequiredApprovals = max(rule.Approval.RequiredApprovals, 1)
	x.Approvers = rule.Approval.Approvers
	x.ExpiresAfter = rule.Approval.ExpiresAfter
	x.ExpiresAt = s.now().Add(rule.Approval.ExpiresAfter)
}

// withinFairShare refuses a request beyond policy.max_pending_per_user of
// its user's requests not yet ended (this one included), counted in the
// store so that every replica sees the same.
func (s *Service) withinFairShare(ctx context.Context, r *Request) error {
	if s.opt.MaxPendingPerUser <= 0 {
		return nil
	}
	n, err := s.opt.Store.CountPending(ctx, r.Team, r.User)
	if err != nil {
		return err
	}
	if n > s.opt.MaxPendingPerUser {
		return errorf(CodeForbidden, "You already have %d requests in progress, the most one person may have at once (policy.max_pending_per_user is %d). Ask again when one of them has ended.",
			n-1, s.opt.MaxPendingPerUser)
	}
	return nil
}

// intakeCollect resolves the device of a collect or getfile and asks the
// requester to confirm.
func (s *Service) intakeCollect(ctx context.Context, r *Request, rule *ChannelRule, name string) {
	ms, err := patiently(ctx, func(ctx context.Context) ([]mde.Machine, error) {
		return s.opt.Defender.FindMachine(ctx, s.tokens(r.Team, r.User), r.Target)
	})
	if err != nil {
		s.refuse(ctx, r, err)
		return
	}
	if len(ms) > 1 {
		again := s.opt.Command + " " + string(r.Kind) + " <machine-id>"
		if r.Kind == KindGetFile {
			again += " <path>"
		}
		t := Tf("Several devices match %s; nothing was started. Run %s with one of:", Code(r.Target), Code(again))
		for _, m := range ms {
			t = append(t, Tf("\n• %s: %s (%s, last seen %s)", m.ComputerDNSName, Code(m.ID), m.OSPlatform, utcTime(m.LastSeen))...)
		}
		s.refuse(ctx, r, &Error{Code: CodeAmbiguous, Message: t})
		return
	}
	m := ms[0]
	if s.answersStep(ctx, r) {
		s.stepConfirmed(ctx, r, rule, name, m)
		return
	}
	ok, err := s.move(ctx, r, step{to: StateAwaitingConfirmation, mutate: func(x *Request) {
		x.ChannelName, x.Delivery = name, rule.Delivery
		x.MachineID, x.MachineName = m.ID, m.ComputerDNSName
		x.ExpiresAfter, x.ExpiresAt = s.opt.ConfirmTTL, s.now().Add(s.opt.ConfirmTTL)
	}})
	if err != nil || !ok {
		s.intakeLost(ctx, r, err)
		return
	}
	asked := string(r.Kind) + " " + r.Target
	for _, more := range []string{r.Path, r.Comment} {
		if more != "" {
			asked += " " + more
		}
	}
	s.auditReq(ctx, r, r.User, "request.created", "awaiting_confirmation", asked)
	s.opt.Metrics.Command(string(r.Kind), "ok")
	fields := []Field{
		{Label: "Machine", Value: machineLabel(m.ComputerDNSName, m.ID)},
		{Label: "OS", Value: T(strings.TrimSpace(m.OSPlatform + " " + m.OSVersion))},
		{Label: "Last seen", Value: T(utcTime(m.LastSeen))},
		{Label: "Health", Value: T(m.HealthStatus)},
	}
	header := Tf("Collect an investigation package from %s?", m.ComputerDNSName)
	next := T("Confirm to start the collection in Defender as you. " + approvalHint(rule, r.Kind))
	if r.Kind == KindGetFile {
		header = Tf("Fetch a file from %s?", m.ComputerDNSName)
		fields = append(fields, Field{Label: "File", Value: T(Code(r.Path))})
		next = T("Confirm to open a live response session on the device in Defender as you and fetch this file (delivered as a .gz). " + approvalHint(rule, r.Kind))
	}
	s.reply(ctx, recipient(r), r.ID, Message{
		Header: header, Fields: fields,
		Text:    commentLine(r.Comment),
		Next:    next,
		Buttons: []Button{{Label: "Confirm", ActionID: ActionConfirm, Value: r.ID, Style: "primary"}, {Label: "Cancel", ActionID: ActionCancel, Value: r.ID}},
		Context: Tf("Request %s · this confirmation expires in %s", Code(r.ID), s.opt.ConfirmTTL),
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
	// Ending it has the request's job tell the requester (one run at a time
	// per request), so an intake run twice after a crash cannot tell twice.
	s.end(ctx, r, StateFailed, s.explain(ctx, err, "request_id", r.ID, "user", r.User), "")
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

func commentLine(c string) Text {
	if c == "" {
		return nil
	}
	return T("Comment: " + c)
}

func approvalHint(rule *ChannelRule, k Kind) string {
	switch {
	case !rule.Approval.NeededFor(k):
		return ""
	case k == KindGetFile:
		return "This channel needs approval before the file is fetched."
	}
	return "This channel needs approval before the package is delivered."
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
		s.end(ctx, r, StateFailed, Tf("The approval request could not be posted in this channel (is the bot a member? Invite it with %s). Nothing was fetched.", Code("/invite")), "")
		return
	}
	if err := s.update(ctx, r, func(x *Request) { x.MessageTS = ts }); err != nil {
		s.logger(r.ID).ErrorContext(ctx, "saving approval message ts failed", "err", err)
	}
	s.auditReq(ctx, r, r.User, "approval.requested", "pending", "approvers: "+strings.Join(r.Approvers, ", "))
	s.reply(ctx, rec, r.ID, Message{
		Header: T("Approval requested"),
		Text:   Tf("Your request needs approval: ask an approver in %s (%s). You will be told the outcome here.", Channel(r.Channel), mentionAll(r.Approvers)),
		Fields: s.requestFields(r),
	})
}
