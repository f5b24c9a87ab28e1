package handlers

import (
	"context"
)

// Command answers a slash command at once and returns the work to run after
// the acknowledgement. It never waits on the network; for get and collect it
// makes one database write, so that a crash right after the acknowledgement
// loses no request.
func (s *Service) Command(ctx context.Context, c Command) Ack {
	p, err := Parse(c.Text)
	if err != nil {
		s.opt.Metrics.Command("invalid", "refused")
		return Ack{Reply: &Message{Header: T("That did not work"), Text: s.explain(ctx, err), Next: Tf("Type %s for the commands.", Code(s.opt.Command+" help"))}}
	}
	rec := Recipient{Team: c.Team, Channel: c.Channel, User: c.User, ResponseURL: c.ResponseURL}
	switch p.Verb {
	case VerbHelp:
		return Ack{Work: func(ctx context.Context) { s.help(ctx, c, rec) }}
	case VerbLogin:
		return Ack{Work: func(ctx context.Context) { s.login(ctx, c, rec) }}
	case VerbLogout:
		return Ack{Work: func(ctx context.Context) { s.logout(ctx, c, rec) }}
	case VerbWhoami:
		return Ack{Work: func(ctx context.Context) { s.whoami(ctx, c, rec) }}
	case VerbStatus:
		return Ack{Work: func(ctx context.Context) { s.status(ctx, c, rec, p.Target) }}
	case VerbSearch:
		return Ack{Reply: &Message{Header: Tf("Searching for %s…", Code(p.Term))}, Work: func(ctx context.Context) { s.search(ctx, c, rec, p) }}
	case VerbCollect, VerbGetFile, VerbGet:
		if p.Verb == VerbCollect && len(p.Targets()) > 1 {
			return s.commandBatch(ctx, c, p)
		}
		r, err := s.receive(ctx, c, p)
		if err != nil {
			s.opt.Metrics.Command(p.Verb, "error")
			return Ack{Reply: &Message{Header: T("That did not work"), Text: s.explain(ctx, err, "request_id", c.RequestID, "step", "receive")}}
		}
		what := "action"
		if p.Verb != VerbGet {
			what = "device"
		}
		return Ack{
			Reply: &Message{Header: Tf("Looking up %s %s…", what, Code(p.Target))},
			Work:  func(ctx context.Context) { s.intake(ctx, r) },
		}
	}
	s.opt.Metrics.Command("invalid", "refused")
	return Ack{Reply: &Message{Header: T("That did not work"), Text: T("Unknown command.")}}
}

// reply tells the requester privately; a failure to do so is logged (there is
// no one else to tell).
func (s *Service) reply(ctx context.Context, rec Recipient, requestID string, m Message) {
	if err := s.opt.Messenger.Private(ctx, rec, m); err != nil {
		s.logger(requestID).ErrorContext(ctx, "private reply failed", "user", rec.User, "channel", rec.Channel, "err", err)
	}
}

// fail tells the requester why a command could not be carried out and counts it.
func (s *Service) fail(ctx context.Context, c Command, rec Recipient, kind string, err error) {
	s.opt.Metrics.Command(kind, outcomeOf(err))
	s.reply(ctx, rec, c.RequestID, Message{
		Header: T("That did not work"),
		Text:   s.explain(ctx, err, "request_id", c.RequestID, "command", kind, "user", c.User),
	})
}
