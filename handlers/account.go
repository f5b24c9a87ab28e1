package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/mdebot/mdebot/identity/account"
)

func (s *Service) help(ctx context.Context, c Command, rec Recipient) {
	m := Message{Header: T("mdebot: Defender investigation packages, as you"), Text: usage(s.opt.Command)}
	m.Fields = append(m.Fields, Field{Label: "This channel", Value: s.policyText(ctx, c)})
	m.Next = Tf("First time? Run %s to link your Microsoft account.", Code(s.opt.Command+" login"))
	s.opt.Metrics.Command(VerbHelp, "ok")
	s.reply(ctx, rec, c.RequestID, m)
}

// policyText describes the channel's policy for help.
func (s *Service) policyText(ctx context.Context, c Command) Text {
	rule, _, err := s.channelRule(ctx, c.Channel)
	if err != nil {
		var he *Error
		if errors.As(err, &he) {
			return T("packages cannot be requested here (no policy.channels entry matches this channel)")
		}
		return T("could not be determined right now")
	}
	var t Text
	switch rule.Delivery {
	case DeliveryUpload:
		t = T("packages are uploaded into the request's thread with their SHA-256")
	case DeliveryLinkInChannel:
		t = T("the short-lived download link is posted in the channel")
	default:
		t = T("the short-lived download link is sent privately to the requester")
	}
	if rule.Approval.Required {
		kinds := "every request"
		if len(rule.Approval.RequiredFor) > 0 {
			kinds = kindList(rule.Approval.RequiredFor)
		}
		return append(t, Tf("; approval needed for %s (%d of %s; expires after %s)", kinds, rule.Approval.RequiredApprovals,
			mentionAll(rule.Approval.Approvers), rule.Approval.ExpiresAfter)...)
	}
	return append(t, Plain("; no approval needed"))
}

func (s *Service) login(ctx context.Context, c Command, rec Recipient) {
	p, err := s.opt.Identity.StartLogin(ctx, c.Team, c.User)
	if err != nil {
		s.fail(ctx, c, rec, VerbLogin, s.loginError(err))
		return
	}
	m := Message{Header: T("Link your Microsoft account")}
	switch p.Flow {
	case account.FlowDeviceCode:
		m.Text = Tf("Open %s and enter the code %s, then sign in with your Microsoft work account.", Link(p.URL, p.URL), Code(p.UserCode))
		m.Context = Tf("The code expires at %s UTC. Do not share it.", p.ExpiresAt.UTC().Format("15:04"))
	default:
		m.Text = Tf("%s to let this bot call Defender as you.", Link(p.URL, "Sign in with Microsoft"))
		m.Context = Tf("The link is for you only and works once, until %s UTC.", p.ExpiresAt.UTC().Format("15:04"))
	}
	s.reply(ctx, rec, c.RequestID, m)
	if p.Await == nil {
		s.opt.Metrics.Command(VerbLogin, "ok")
		return
	}
	// The wait lasts up to the code's lifetime: identity runs it, outside
	// the transport's worker pool, and calls back when it is over.
	p.Await(func(ctx context.Context, link *account.Link, err error) {
		switch {
		case errors.Is(err, account.ErrSuperseded):
			return // a newer login of the same user took over and tells them
		case err != nil:
			s.audit(ctx, AuditEvent{Team: c.Team, Channel: c.Channel, Actor: c.User, Event: "login.refused", Outcome: "refused", Detail: err.Error()})
			s.fail(ctx, c, rec, VerbLogin, s.loginError(err))
			return
		}
		s.linked(ctx, link)
		s.opt.Metrics.Command(VerbLogin, "ok")
		s.reply(ctx, rec, c.RequestID, linkedMessage(link))
	})
}

// loginError gives the sign-in failures that are nobody's fault their words.
func (s *Service) loginError(err error) error {
	switch {
	case errors.Is(err, account.ErrBusy):
		return &Error{Code: "busy", Message: T("Too many sign-ins are in progress right now; try again in a few minutes.")}
	case errors.Is(err, account.ErrInterrupted):
		return &Error{Code: "interrupted", Message: Tf("The sign-in was interrupted because the bot restarted. Run %s again.", Code(s.opt.Command+" login"))}
	}
	return err
}

func linkedMessage(l *account.Link) Message {
	return Message{Header: T("Microsoft account linked"), Text: Tf("Your Slack account is now linked to %s. Defender calls you request run as this account.", Code(l.Username))}
}

// linked records a completed link.
func (s *Service) linked(ctx context.Context, l *account.Link) {
	s.audit(ctx, AuditEvent{Team: l.Team, Actor: l.User, Event: "login.linked", Outcome: "ok", Detail: l.Username})
	s.homeChanged(l.Team, l.User)
}

// LoginCallback completes the auth-code flow on GET /auth/callback, or asks
// for a confirmation first, and tells the user in Slack too. errCode is
// Microsoft's OAuth error code, mapped to fixed words: the page never
// shows text from the URL.
func (s *Service) LoginCallback(ctx context.Context, state, code, errCode string) Page {
	if errCode != "" {
		return Page{Title: "Sign-in failed", Text: signInErrorText(errCode) + fmt.Sprintf(" Run %s login in Slack to try again.", s.opt.Command)}
	}
	if state == "" || code == "" {
		return Page{Title: "Sign-in failed", Text: "This page expects a sign-in response from Microsoft (state and code are missing)."}
	}
	pending, err := s.opt.Identity.PendingLogin(ctx, state, code)
	if err != nil {
		return Page{Title: "Account not linked", Text: s.explain(ctx, err, "step", "auth_callback").Plain()}
	}
	if pending != nil {
		return Page{
			Title: "Link this Slack account?",
			Text: "You signed in with Microsoft from a sign-in link made for the Slack account below. " +
				"Link it only if it is yours: whoever uses that Slack account will call Defender as your Microsoft account.",
			Confirm: &LinkConfirm{Team: pending.Team, User: pending.User, State: state, Code: code, CSRF: pending.CSRF},
		}
	}
	link, err := s.opt.Identity.CompleteLogin(ctx, state, code)
	return s.loginResult(ctx, link, err)
}

// LoginConfirm completes a confirmed sign-in on POST /auth/confirm.
func (s *Service) LoginConfirm(ctx context.Context, state, code, csrf string) Page {
	link, err := s.opt.Identity.ConfirmLogin(ctx, state, code, csrf)
	return s.loginResult(ctx, link, err)
}

// loginResult is the page (and the Slack message) after a sign-in was redeemed.
func (s *Service) loginResult(ctx context.Context, link *account.Link, err error) Page {
	if err != nil {
		var le *account.LinkError
		reason := s.explain(ctx, err, "step", "auth_callback")
		if errors.As(err, &le) {
			s.audit(ctx, AuditEvent{Team: le.Team, Actor: le.User, Event: "login.refused", Outcome: "refused", Detail: err.Error()})
			s.dm(ctx, le.Team, le.User, "", Message{Header: T("Your Microsoft account was not linked"), Text: reason})
		}
		return Page{Title: "Account not linked", Text: reason.Plain()}
	}
	s.linked(ctx, link)
	s.dm(ctx, link.Team, link.User, "", linkedMessage(link))
	return Page{OK: true, Title: "Account linked", Text: fmt.Sprintf("Your Slack account is now linked to %s. You can close this window and return to Slack.", link.Username)}
}

// signInErrorText is a fixed sentence per OAuth error code (RFC 6749 and
// OpenID Connect); an unknown code gets the general one.
func signInErrorText(code string) string {
	switch code {
	case "access_denied":
		return "The sign-in was cancelled, or consent was refused."
	case "consent_required", "interaction_required", "login_required", "account_selection_required":
		return "Microsoft needs you to finish signing in, or to consent to this app, first."
	case "temporarily_unavailable", "server_error":
		return "Microsoft could not complete the sign-in just now."
	}
	return "Microsoft did not complete the sign-in."
}

func (s *Service) logout(ctx context.Context, c Command, rec Recipient) {
	if err := s.opt.Identity.Unlink(ctx, c.Team, c.User); err != nil {
		s.fail(ctx, c, rec, VerbLogout, err)
		return
	}
	s.audit(ctx, AuditEvent{Team: c.Team, Channel: c.Channel, Actor: c.User, Event: "logout", Outcome: "ok"})
	s.homeChanged(c.Team, c.User)
	s.opt.Metrics.Command(VerbLogout, "ok")
	s.reply(ctx, rec, c.RequestID, Message{Header: T("Microsoft account unlinked"), Text: Tf("The bot no longer holds tokens for you. Run %s to link again.", Code(s.opt.Command+" login"))})
}

func (s *Service) whoami(ctx context.Context, c Command, rec Recipient) {
	l, err := s.opt.Identity.Linked(ctx, c.Team, c.User)
	if err != nil {
		s.fail(ctx, c, rec, VerbWhoami, err)
		return
	}
	s.opt.Metrics.Command(VerbWhoami, "ok")
	s.reply(ctx, rec, c.RequestID, Message{
		Header: T("Your linked Microsoft account"),
		Fields: []Field{{Label: "Account", Value: T(l.Username)}, {Label: "Tenant", Value: T(l.TenantID)}, {Label: "Linked", Value: T(l.LinkedAt.UTC().Format("2006-01-02 15:04 UTC"))}},
	})
}

// dm sends a direct message, logging a failure.
func (s *Service) dm(ctx context.Context, team, user, requestID string, m Message) {
	if err := s.opt.Messenger.DM(ctx, team, user, m); err != nil {
		s.logger(requestID).ErrorContext(ctx, "direct message failed", "user", user, "err", err)
	}
}
