package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/handlers"
)

// The one code path after parsing, shared by HTTP and Socket Mode: refuse what
// must be refused, convert, call the handler, and return the reply for the
// acknowledgement plus a start function that launches the background work.
// The transport sends the acknowledgement first and only then calls start.

func teamRefused() *handlers.Message {
	return &handlers.Message{
		Header: handlers.T("This Slack workspace is not allowed to use this bot."),
		Text:   handlers.T("Ask the bot's administrators to add this workspace to slack.allowed_teams."),
	}
}

func shuttingDown() *handlers.Message {
	return &handlers.Message{Header: handlers.T("The bot is restarting."), Text: handlers.T("Please try again in a minute.")}
}

func notConfigured() *handlers.Message {
	return &handlers.Message{Header: handlers.T("The bot is not ready."), Text: handlers.T("Please try again in a minute.")}
}

// onCommand handles a verified slash command. start is nil when there is no
// background work; otherwise the caller must call it exactly once, after the ack.
func (s *Server) onCommand(ctx context.Context, sc slack.SlashCommand) (reply *handlers.Message, start func()) {
	cmd := handlers.Command{
		RequestID:   newRequestID(),
		Team:        sc.TeamID,
		Channel:     sc.ChannelID,
		ChannelName: sc.ChannelName,
		User:        sc.UserID,
		UserName:    sc.UserName,
		Command:     sc.Command,
		Text:        unescapeSlack(sc.Text),
		ResponseURL: sc.ResponseURL,
		TriggerID:   sc.TriggerID,
		ReceivedAt:  s.now(),
	}
	log := s.log.With("request_id", cmd.RequestID, "kind", "command", "team", cmd.Team,
		"channel", cmd.Channel, "user", cmd.User, "command", cmd.Command, "text", cmd.Text)
	cmd.ResponseURL = s.allowedResponseURL(log, cmd.ResponseURL)

	switch {
	case !s.teamAllowed(sc.TeamID, sc.EnterpriseID):
		log.Warn("command refused: workspace not allowed", "enterprise", sc.EnterpriseID)
		return teamRefused(), nil
	case s.o.Command != "" && sc.Command != s.o.Command:
		log.Warn("command refused: not this bot's command", "want", s.o.Command)
		return &handlers.Message{
			Header: handlers.Tf("Unknown command %s.", handlers.Code(sc.Command)),
			Text:   handlers.Tf("This bot answers %s.", handlers.Code(s.o.Command)),
		}, nil
	case s.o.Handler == nil:
		log.Error("command refused: no handler configured")
		return notConfigured(), nil
	case !s.begin():
		log.Info("command refused: shutting down")
		return shuttingDown(), nil
	}
	log.Info("command received")

	ack, ok := s.callHandler(log, func() handlers.Ack { return s.o.Handler.Command(ctx, cmd) })
	if !ok {
		s.work.Done()
		return internalError(cmd.RequestID), nil
	}
	return ack.Reply, s.starter(unit{kind: kindCommand, user: userKey(cmd.Team, cmd.User)}, log, ack.Work)
}

// onClick handles a verified interaction. Replies to clicks cannot ride on the
// acknowledgement (Slack ignores that body for block_actions), so they go to
// the click's response_url, in the background like the work.
func (s *Server) onClick(ctx context.Context, cb slack.InteractionCallback) (start func()) {
	if cb.Type == slack.InteractionTypeMessageAction {
		return s.onShortcut(ctx, cb)
	}
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
		s.log.Debug("interaction ignored", "type", string(cb.Type))
		return nil
	}
	act := cb.ActionCallback.BlockActions[0]
	click := handlers.Click{
		RequestID:   newRequestID(),
		Team:        cb.Team.ID,
		Channel:     cb.Channel.ID,
		User:        cb.User.ID,
		ActionID:    act.ActionID,
		Value:       act.Value,
		MessageTS:   cb.Container.MessageTs,
		ResponseURL: cb.ResponseURL,
		TriggerID:   cb.TriggerID,
	}
	if cb.Container.Type == "view" && cb.View.Type == slack.VTHomeTab {
		// The clicker's own Home tab (Slack shows it to them only).
		click.Surface = handlers.SurfaceHome
	}
	if click.Channel == "" {
		click.Channel = cb.Container.ChannelID
	}
	if click.MessageTS == "" {
		click.MessageTS = cb.Message.Timestamp
	}
	log := s.log.With("request_id", click.RequestID, "kind", "interaction", "team", click.Team,
		"channel", click.Channel, "user", click.User, "action_id", click.ActionID, "value", click.Value)
	click.ResponseURL = s.allowedResponseURL(log, click.ResponseURL)

	to := handlers.Recipient{Team: click.Team, Channel: click.Channel, User: click.User, ResponseURL: click.ResponseURL}
	return s.interact(log, "click", cb, s.o.Handler != nil, click.RequestID, to,
		func() handlers.Ack { return s.o.Handler.Click(ctx, click) })
}

// interact is the path of a verified interaction (a click or a shortcut),
// what names it in the log: a foreign workspace or a missing handler is
// refused, else the handler answers; the reply and its work then run after
// the acknowledgement, in the background.
func (s *Server) interact(log *slog.Logger, what string, cb slack.InteractionCallback, configured bool,
	requestID string, to handlers.Recipient, call func() handlers.Ack) func() {
	var reply *handlers.Message
	var work func(context.Context)
	switch {
	case !s.teamAllowed(cb.Team.ID, cb.Enterprise.ID):
		log.Warn(what+" refused: workspace not allowed", "enterprise", cb.Enterprise.ID)
		reply = teamRefused()
	case !configured:
		log.Error(what + " refused: no handler configured")
		reply = notConfigured()
	}
	if !s.begin() {
		log.Info(what + " refused: shutting down")
		return nil
	}
	if reply == nil {
		log.Info(what + " received")
		ack, ok := s.callHandler(log, call)
		if !ok {
			ack = handlers.Ack{Reply: internalError(requestID)}
		}
		reply, work = ack.Reply, ack.Work
	}
	return s.replyThenWork(unit{kind: kindClick, user: userKey(to.Team, to.User)}, log, to, reply, work)
}

// replyThenWork returns the function that, after the acknowledgement, tells
// the reply privately and runs the work, in the background; it releases the
// begin() registration when there is neither.
func (s *Server) replyThenWork(u unit, log *slog.Logger, to handlers.Recipient, reply *handlers.Message, work func(context.Context)) func() {
	if reply == nil && work == nil {
		s.work.Done()
		return nil
	}
	return func() {
		s.background(u, log, func(ctx context.Context) {
			if reply != nil {
				s.tellPrivately(ctx, log, s.o.Fallback, to, *reply)
			}
			if work != nil {
				work(ctx)
			}
		})
	}
}

// allowedResponseURL returns raw when it may be posted to. A response_url
// outside slack.callback_hosts is refused here, before anything stores or
// uses it: the refusal is logged with the host only and "" returned, so the
// user is answered another way (ephemeral, DM).
func (s *Server) allowedResponseURL(log *slog.Logger, raw string) string {
	if raw == "" {
		return ""
	}
	if err := s.hosts.check(raw); err != nil {
		log.Warn("response_url refused, not contacted", "host", callbackHost(raw), "err", err)
		return ""
	}
	return raw
}

// tellPrivately replies to one user: to the response_url when there is one,
// else (or when that fails) through fallback (ephemeral, then a DM).
func (s *Server) tellPrivately(ctx context.Context, log *slog.Logger, fallback PrivateMessenger, to handlers.Recipient, msg handlers.Message) {
	if to.ResponseURL != "" {
		err := postResponseURL(ctx, s.o.HTTPClient, s.hosts, to.ResponseURL, msg)
		if err == nil {
			return
		}
		log.Warn("reply to the response_url not delivered", "err", err)
		if ctx.Err() != nil {
			return
		}
	}
	if fallback == nil {
		log.Warn("reply not delivered: no usable response_url and no other way to write")
		return
	}
	to.ResponseURL = ""
	if err := fallback.Private(ctx, to, msg); err != nil {
		log.Warn("reply not delivered", "err", err)
	}
}

// userKey is the per-user bound's key.
func userKey(team, user string) string {
	if user == "" {
		return ""
	}
	return team + ":" + user
}

// starter returns the function that launches work after the ack; it releases
// the begin() registration when there is nothing to run.
func (s *Server) starter(u unit, log *slog.Logger, work func(context.Context)) func() {
	if work == nil {
		s.work.Done()
		return nil
	}
	return func() { s.background(u, log, work) }
}

// callHandler calls a handler, turning a panic into ok=false.
func (s *Server) callHandler(log *slog.Logger, f func() handlers.Ack) (ack handlers.Ack, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("handler panicked", "panic", fmt.Sprint(p))
			ok = false
		}
	}()
	return f(), true
}

func internalError(ref string) *handlers.Message {
	return &handlers.Message{
		Header: handlers.T("Something went wrong."),
		Text:   handlers.Tf("internal error (ref %s)", handlers.Code(ref)),
	}
}

// slackEntities are the three characters Slack escapes in text it sends
// (its control characters); a path or a search term holding them must reach
// the use cases as typed.
var slackEntities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// unescapeSlack undoes Slack's escaping of &, < and >.
func unescapeSlack(s string) string { return slackEntities.Replace(s) }
