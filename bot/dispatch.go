package bot

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/handlers"
)

// The one code path after parsing, shared by HTTP and Socket Mode: refuse what
// must be refused, convert, call the handler, and return the reply for the
// acknowledgement plus a start function that launches the background work.
// The transport sends the acknowledgement first and only then calls start.

func teamRefused() *handlers.Message {
	return &handlers.Message{
		Header: "This Slack workspace is not allowed to use this bot.",
		Text:   "Ask the bot's administrators to add this workspace to slack.allowed_teams.",
	}
}

func shuttingDown() *handlers.Message {
	return &handlers.Message{Header: "The bot is restarting.", Text: "Please try again in a minute."}
}

func notConfigured() *handlers.Message {
	return &handlers.Message{Header: "The bot is not ready.", Text: "Please try again in a minute."}
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
		Text:        sc.Text,
		ResponseURL: sc.ResponseURL,
		TriggerID:   sc.TriggerID,
		ReceivedAt:  s.now(),
	}
	log := s.log.With("request_id", cmd.RequestID, "kind", "command", "team", cmd.Team,
		"channel", cmd.Channel, "user", cmd.User, "command", cmd.Command, "text", cmd.Text)

	switch {
	case !s.teamAllowed(sc.TeamID, sc.EnterpriseID):
		log.Warn("command refused: workspace not allowed", "enterprise", sc.EnterpriseID)
		return teamRefused(), nil
	case s.o.Command != "" && sc.Command != s.o.Command:
		log.Warn("command refused: not this bot's command", "want", s.o.Command)
		return &handlers.Message{
			Header: fmt.Sprintf("Unknown command %s.", sc.Command),
			Text:   fmt.Sprintf("This bot answers %s.", s.o.Command),
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
	return ack.Reply, s.starter(log, ack.Work)
}

// onClick handles a verified interaction. Replies to clicks cannot ride on the
// acknowledgement (Slack ignores that body for block_actions), so they go to
// the click's response_url, in the background like the work.
func (s *Server) onClick(ctx context.Context, cb slack.InteractionCallback) (start func()) {
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
	if click.Channel == "" {
		click.Channel = cb.Container.ChannelID
	}
	if click.MessageTS == "" {
		click.MessageTS = cb.Message.Timestamp
	}
	log := s.log.With("request_id", click.RequestID, "kind", "interaction", "team", click.Team,
		"channel", click.Channel, "user", click.User, "action_id", click.ActionID, "value", click.Value)

	var reply *handlers.Message
	var work func(context.Context)
	switch {
	case !s.teamAllowed(cb.Team.ID, cb.Enterprise.ID):
		log.Warn("click refused: workspace not allowed", "enterprise", cb.Enterprise.ID)
		reply = teamRefused()
	case s.o.Handler == nil:
		log.Error("click refused: no handler configured")
		reply = notConfigured()
	}
	if !s.begin() {
		log.Info("click refused: shutting down")
		return nil
	}
	if reply == nil {
		log.Info("click received")
		ack, ok := s.callHandler(log, func() handlers.Ack { return s.o.Handler.Click(ctx, click) })
		if !ok {
			ack = handlers.Ack{Reply: internalError(click.RequestID)}
		}
		reply, work = ack.Reply, ack.Work
	}
	if reply == nil && work == nil {
		s.work.Done()
		return nil
	}
	return func() {
		s.background(log, func(ctx context.Context) {
			if reply != nil {
				if err := postResponseURL(ctx, s.o.HTTPClient, click.ResponseURL, *reply); err != nil {
					log.Warn("click reply not delivered", "err", err)
				}
			}
			if work != nil {
				work(ctx)
			}
		})
	}
}

// starter returns the function that launches work after the ack; it releases
// the begin() registration when there is nothing to run.
func (s *Server) starter(log *slog.Logger, work func(context.Context)) func() {
	if work == nil {
		s.work.Done()
		return nil
	}
	return func() { s.background(log, work) }
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
		Header: "Something went wrong.",
		Text:   fmt.Sprintf("internal error (ref %s)", ref),
	}
}
