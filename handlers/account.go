package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mdebot/mdebot/identity"
)

func (s *Service) help(ctx context.Context, c Command, rec Recipient) {
	m := Message{Header: "mdebot: Defender investigation packages, as you", Text: usage(s.opt.Command)}
	m.Fields = append(m.Fields, Field{Label: "This channel", Value: s.policyText(ctx, c)})
	m.Next = fmt.Sprintf("First time? Run `%s login` to link your Microsoft account.", s.opt.Command)
	s.opt.Metrics.Command(VerbHelp, "ok")
	s.reply(ctx, rec, c.RequestID, m)
}

// policyText describes the channel's policy for help.
func (s *Service) policyText(ctx context.Context, c Command) string {
	rule, _, err := s.channelRule(ctx, c.Channel)
	if err != nil {
		var he *Error
		if errors.As(err, &he) {
			return "packages cannot be requested here (no policy.channels entry matches this channel)"
		}
		return "could not be determined right now"
	}
	var b strings.Builder
	switch rule.Delivery {
	case DeliveryUpload:
		b.WriteString("packages are uploaded into the request's thread with their SHA-256")
	case DeliveryLinkInChannel:
		b.WriteString("the short-lived download link is posted in the channel")
	default:
		b.WriteString("the short-lived download link is sent privately to the requester")
	}
	if rule.Approval.Required {
		fmt.Fprintf(&b, "; approval needed (%d of %s; expires after %s)", rule.Approval.RequiredApprovals,
			mentionAll(rule.Approval.Approvers), rule.Approval.ExpiresAfter)
	} else {
		b.WriteString("; no approval needed")
	}
	return b.String()
}

func (s *Service) login(ctx context.Context, c Command, rec Recipient) {
	p, err := s.opt.Identity.StartLogin(ctx, c.Team, c.User)
	if err != nil {
		s.fail(ctx, c, rec, VerbLogin, err)
		return
	}
	m := Message{Header: "Link your Microsoft account"}
	switch p.Flow {
	case identity.FlowDeviceCode:
		m.Text = fmt.Sprintf("Open %s and enter the code `%s`, then sign in with your Microsoft work account.", p.URL, p.UserCode)
		m.Context = fmt.Sprintf("The code expires at %s UTC. Do not share it.", p.ExpiresAt.UTC().Format("15:04"))
	default:
		m.Text = fmt.Sprintf("<%s|Sign in with Microsoft> to let this bot call Defender as you.", p.URL)
		m.Context = fmt.Sprintf("The link is for you only and works once, until %s UTC.", p.ExpiresAt.UTC().Format("15:04"))
	}
	s.reply(ctx, rec, c.RequestID, m)
	if p.Wait == nil {
		s.opt.Metrics.Command(VerbLogin, "ok")
		return
	}
	link, err := p.Wait(ctx)
	if err != nil {
		s.audit(ctx, AuditEvent{Team: c.Team, Channel: c.Channel, Actor: c.User, Event: "login.refused", Outcome: "refused", Detail: err.Error()})
		s.fail(ctx, c, rec, VerbLogin, err)
		return
	}
	s.linked(ctx, link)
	s.opt.Metrics.Command(VerbLogin, "ok")
	s.reply(ctx, rec, c.RequestID, linkedMessage(link))
}

func linkedMessage(l *identity.Link) Message {
	return Message{Header: "Microsoft account linked", Text: fmt.Sprintf("Your Slack account is now linked to *%s*. Defender calls you request run as this account.", l.Username)}
}

// linked records a completed link.
func (s *Service) linked(ctx context.Context, l *identity.Link) {
	s.audit(ctx, AuditEvent{Team: l.Team, Actor: l.User, Event: "login.linked", Outcome: "ok", Detail: l.Username})
}

// LoginCallback completes the auth-code flow on GET /auth/callback and tells
// the user in Slack too.
func (s *Service) LoginCallback(ctx context.Context, state, code, errCode, errDesc string) Page {
	if errCode != "" {
		return Page{Title: "Sign-in failed", Text: fmt.Sprintf("Microsoft sign-in reported %s: %s. Run %s login in Slack to try again.", errCode, errDesc, s.opt.Command)}
	}
	if state == "" || code == "" {
		return Page{Title: "Sign-in failed", Text: "This page expects a sign-in response from Microsoft (state and code are missing)."}
	}
	link, err := s.opt.Identity.CompleteLogin(ctx, state, code)
	if err != nil {
		var le *identity.LinkError
		reason := s.explain(ctx, err, "step", "auth_callback")
		if errors.As(err, &le) {
			s.audit(ctx, AuditEvent{Team: le.Team, Actor: le.User, Event: "login.refused", Outcome: "refused", Detail: err.Error()})
			s.dm(ctx, le.Team, le.User, "", Message{Header: "Your Microsoft account was not linked", Text: reason})
		}
		return Page{Title: "Account not linked", Text: reason}
	}
	s.linked(ctx, link)
	s.dm(ctx, link.Team, link.User, "", linkedMessage(link))
	return Page{OK: true, Title: "Account linked", Text: fmt.Sprintf("Your Slack account is now linked to %s. You can close this window and return to Slack.", link.Username)}
}

func (s *Service) logout(ctx context.Context, c Command, rec Recipient) {
	if err := s.opt.Identity.Unlink(ctx, c.Team, c.User); err != nil {
		s.fail(ctx, c, rec, VerbLogout, err)
		return
	}
	s.audit(ctx, AuditEvent{Team: c.Team, Channel: c.Channel, Actor: c.User, Event: "logout", Outcome: "ok"})
	s.opt.Metrics.Command(VerbLogout, "ok")
	s.reply(ctx, rec, c.RequestID, Message{Header: "Microsoft account unlinked", Text: fmt.Sprintf("The bot no longer holds tokens for you. Run `%s login` to link again.", s.opt.Command)})
}

func (s *Service) whoami(ctx context.Context, c Command, rec Recipient) {
	l, err := s.opt.Identity.Linked(ctx, c.Team, c.User)
	if err != nil {
		s.fail(ctx, c, rec, VerbWhoami, err)
		return
	}
	s.opt.Metrics.Command(VerbWhoami, "ok")
	s.reply(ctx, rec, c.RequestID, Message{
		Header: "Your linked Microsoft account",
		Fields: []Field{{Label: "Account", Value: l.Username}, {Label: "Tenant", Value: l.TenantID}, {Label: "Linked", Value: l.LinkedAt.UTC().Format("2006-01-02 15:04 UTC")}},
	})
}

// dm sends a direct message, logging a failure.
func (s *Service) dm(ctx context.Context, team, user, requestID string, m Message) {
	if err := s.opt.Messenger.DM(ctx, team, user, m); err != nil {
		s.logger(requestID).ErrorContext(ctx, "direct message failed", "user", user, "err", err)
	}
}
