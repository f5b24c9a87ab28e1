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

// status shows an action's status.
func (s *Service) status(ctx context.Context, c Command, rec Recipient, id string) {
	if _, _, err := s.authorize(ctx, c); err != nil {
		s.fail(ctx, c, rec, VerbStatus, err)
		return
	}
	a, err := patiently(ctx, func(ctx context.Context) (*mde.MachineAction, error) {
		return s.opt.Defender.GetMachineAction(ctx, s.tokens(c.Team, c.User), id)
	})
	if err != nil {
		s.fail(ctx, c, rec, VerbStatus, err)
		return
	}
	f := []Field{
		{Label: "Type", Value: a.Type},
		{Label: "Status", Value: "`" + a.Status + "`"},
		{Label: "Machine", Value: machineLabel(a.ComputerDNSName, a.MachineID)},
		{Label: "Requestor", Value: a.Requestor},
		{Label: "Created", Value: utcTime(a.CreationDateTimeUtc)},
		{Label: "Updated", Value: utcTime(a.LastUpdateDateTimeUtc)},
	}
	if a.RequestorComment != "" {
		f = append(f, Field{Label: "Comment", Value: a.RequestorComment})
	}
	next := ""
	if a.Type == mde.TypeCollectInvestigationPackage && !a.Terminal() || a.Status == mde.StatusSucceeded {
		next = fmt.Sprintf("`%s %s` delivers its package.", s.opt.Command, a.ID)
	}
	s.opt.Metrics.Command(VerbStatus, "ok")
	s.reply(ctx, rec, c.RequestID, Message{Header: fmt.Sprintf("Action `%s` is `%s`", a.ID, a.Status), Fields: f, Next: next})
}

func utcTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// get starts delivering an existing collection's package.
func (s *Service) get(ctx context.Context, c Command, rec Recipient, id string) {
	rule, name, err := s.authorize(ctx, c)
	if err != nil {
		s.fail(ctx, c, rec, VerbGet, err)
		return
	}
	a, err := patiently(ctx, func(ctx context.Context) (*mde.MachineAction, error) {
		return s.opt.Defender.GetMachineAction(ctx, s.tokens(c.Team, c.User), id)
	})
	if err != nil {
		s.fail(ctx, c, rec, VerbGet, err)
		return
	}
	if a.Type != mde.TypeCollectInvestigationPackage {
		s.fail(ctx, c, rec, VerbGet, errorf(CodeInvalid,
			"Action `%s` is a %s action, not %s: only investigation package collections have a package.", a.ID, a.Type, mde.TypeCollectInvestigationPackage))
		return
	}
	r := s.newRequest(c, rule, name, KindGet)
	r.ActionID, r.MachineID, r.MachineName, r.LastStatus = id, a.MachineID, a.ComputerDNSName, a.Status
	// A collection that already failed needs no approval: it ends at once.
	s.submit(ctx, c, rec, r, rule, !a.Terminal() || a.Status == mde.StatusSucceeded)
}

// collect resolves a device and asks the requester to confirm the collection.
func (s *Service) collect(ctx context.Context, c Command, rec Recipient, p Parsed) {
	rule, name, err := s.authorize(ctx, c)
	if err != nil {
		s.fail(ctx, c, rec, VerbCollect, err)
		return
	}
	ms, err := patiently(ctx, func(ctx context.Context) ([]mde.Machine, error) {
		return s.opt.Defender.FindMachine(ctx, s.tokens(c.Team, c.User), p.Target)
	})
	if err != nil {
		s.fail(ctx, c, rec, VerbCollect, err)
		return
	}
	if len(ms) > 1 {
		var b strings.Builder
		fmt.Fprintf(&b, "Several devices match `%s`; nothing was started. Run `%s collect <machine-id>` with one of:", p.Target, s.opt.Command)
		for _, m := range ms {
			fmt.Fprintf(&b, "\n• %s: `%s` (%s, last seen %s)", m.ComputerDNSName, m.ID, m.OSPlatform, utcTime(m.LastSeen))
		}
		s.fail(ctx, c, rec, VerbCollect, errorf(CodeAmbiguous, "%s", b.String()))
		return
	}
	m := ms[0]
	r := s.newRequest(c, rule, name, KindCollect)
	r.MachineID, r.MachineName, r.Comment = m.ID, m.ComputerDNSName, p.Comment
	r.State = StateAwaitingConfirmation
	r.ExpiresAt = s.now().Add(s.opt.ConfirmTTL)
	if err := s.opt.Store.CreateRequest(ctx, r); err != nil {
		s.fail(ctx, c, rec, VerbCollect, err)
		return
	}
	s.auditReq(ctx, r, c.User, "request.created", "awaiting_confirmation", "collect "+p.Target)
	s.opt.Metrics.Command(VerbCollect, "ok")
	s.reply(ctx, rec, r.ID, Message{
		Header: fmt.Sprintf("Collect an investigation package from %s?", m.ComputerDNSName),
		Fields: []Field{
			{Label: "Machine", Value: machineLabel(m.ComputerDNSName, m.ID)},
			{Label: "OS", Value: strings.TrimSpace(m.OSPlatform + " " + m.OSVersion)},
			{Label: "Last seen", Value: utcTime(m.LastSeen)},
			{Label: "Health", Value: m.HealthStatus},
		},
		Text:    commentLine(p.Comment),
		Next:    "Confirm to start the collection in Defender as you. " + approvalHint(rule),
		Buttons: []Button{{Label: "Confirm", ActionID: ActionConfirm, Value: r.ID, Style: "primary"}, {Label: "Cancel", ActionID: ActionCancel, Value: r.ID}},
		Context: fmt.Sprintf("Request %s · this confirmation expires in %s", r.ID, s.opt.ConfirmTTL),
	})
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

// newRequest builds a request for a command under a channel rule.
func (s *Service) newRequest(c Command, rule *ChannelRule, channelName string, kind Kind) *Request {
	now := s.now()
	// The transport's correlation id (random, 64 bits or more) becomes the
	// request ID, so one id runs through the logs from Slack to the delivery.
	id := c.RequestID
	if len(id) < 16 {
		id = randomHex(8)
	}
	return &Request{
		ID: id, Team: c.Team, Channel: c.Channel, ChannelName: channelName, User: c.User, Kind: kind,
		Delivery: rule.Delivery, ResponseURL: c.ResponseURL, CreatedAt: now, UpdatedAt: now,
	}
}

// submit stores a new request and either asks for approval or starts its job.
func (s *Service) submit(ctx context.Context, c Command, rec Recipient, r *Request, rule *ChannelRule, needsApproval bool) {
	kind := string(r.Kind)
	if rule.Approval.Required && needsApproval {
		r.State = StateAwaitingApproval
		r.RequiredApprovals = max(rule.Approval.RequiredApprovals, 1)
		r.Approvers = rule.Approval.Approvers
		r.ExpiresAt = s.now().Add(rule.Approval.ExpiresAfter)
	} else {
		r.State = StateApproved
	}
	if err := s.opt.Store.CreateRequest(ctx, r); err != nil {
		s.fail(ctx, c, rec, kind, err)
		return
	}
	s.auditReq(ctx, r, c.User, "request.created", string(r.State), "")
	if r.State == StateApproved {
		s.start(ctx, r)
		s.opt.Metrics.Command(kind, "ok")
		return
	}
	s.askApproval(ctx, r, rec)
	s.opt.Metrics.Command(kind, "ok")
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
