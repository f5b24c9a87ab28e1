package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/mdebot/mdebot/handlers"
)

// ackTimeout bounds queueing an ack: when the connection is gone, slack-go's
// response queue is not drained until it reconnects.
const ackTimeout = 5 * time.Second

// SocketOptions tunes Socket Mode; the zero value is right for Slack.
type SocketOptions struct {
	// PingInterval is how long without a WebSocket ping from Slack before the
	// connection counts as dead; default slack-go's (30 s).
	PingInterval time.Duration
}

// RunSocket serves Socket Mode until ctx ends: slash commands and clicks
// arrive as envelopes, are acked at once and dispatched like HTTP requests.
// slack-go's RunContext reconnects with backoff. On return it has stopped
// reading and RunContext has returned; background work may still run: call
// Shutdown to wait for it. It returns nil when ctx ended and an error when
// Slack refused the connection for good (e.g. an invalid app token).
func (s *Server) RunSocket(ctx context.Context, api *Slack, opts ...SocketOptions) error {
	if api == nil {
		return errors.New("bot: socket mode needs a Slack client")
	}
	if api.appToken == "" {
		return errors.New("bot: socket mode needs slack.app_token (xapp-...)")
	}
	smOpts := []socketmode.Option{socketmode.OptionLog(slog.NewLogLogger(s.log.Handler(), slog.LevelDebug))}
	for _, o := range opts {
		if o.PingInterval > 0 {
			smOpts = append(smOpts, socketmode.OptionPingInterval(o.PingInterval))
		}
	}
	client := socketmode.New(api.client, smOpts...)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- client.RunContext(runCtx) }()

	for {
		select {
		case <-ctx.Done():
			// Order matters (slack-go issue 1125): stop reading events, let
			// RunContext return, and only then leave. client.Events is never
			// closed, so no send can hit a closed channel.
			stop()
			<-done
			return nil
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("bot: socket mode stopped: %w", err)
		case evt := <-client.Events:
			s.onSocketEvent(runCtx, client, api, evt)
		}
	}
}

func (s *Server) onSocketEvent(ctx context.Context, client *socketmode.Client, api *Slack, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
		if evt.Request != nil && !s.firstEnvelope(ctx, evt.Request) {
			s.ack(ctx, client, evt.Request, nil)
			return
		}
	}
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		t0 := time.Now()
		sc, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			s.log.Warn("socket mode: unexpected slash command event")
			return
		}
		reply, start := s.onCommand(ctx, sc)
		s.ackCommand(ctx, client, api, evt.Request, reply, handlers.Recipient{Team: sc.TeamID, Channel: sc.ChannelID, User: sc.UserID,
			ResponseURL: sc.ResponseURL})
		if start != nil {
			start()
		}
		s.observe("command", t0)
	case socketmode.EventTypeInteractive:
		t0 := time.Now()
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			s.log.Warn("socket mode: unexpected interactive event")
			return
		}
		start := s.onClick(ctx, cb)
		s.ack(ctx, client, evt.Request, nil)
		if start != nil {
			start()
		}
		s.observe("interaction", t0)
	case socketmode.EventTypeEventsAPI:
		// Parsed again from the raw payload, as HTTP events are (events.go).
		if evt.Request != nil {
			s.onSocketEvents(ctx, client, evt.Request)
		}
	case socketmode.EventTypeErrorBadMessage:
		s.onBadEnvelope(ctx, client, evt)
	case socketmode.EventTypeConnected:
		s.log.Info("socket mode connected")
	case socketmode.EventTypeConnecting, socketmode.EventTypeHello:
		s.log.Debug("socket mode", "event", string(evt.Type))
	case socketmode.EventTypeDisconnect:
		s.log.Info("socket mode: Slack asked to reconnect")
	case socketmode.EventTypeConnectionError:
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			s.log.Warn("socket mode connection failed; retrying", "attempt", e.Attempt, "backoff", e.Backoff, "err", e.ErrorObj)
		} else {
			s.log.Warn("socket mode connection failed; retrying")
		}
	case socketmode.EventTypeInvalidAuth:
		s.log.Error("socket mode: Slack refused the app token")
	default:
		// Error events; their data may hold a raw envelope (with a
		// response_url), so only the error is logged.
		s.log.Warn("socket mode event", "event", string(evt.Type), "err", socketEventErr(evt))
	}
}

// ackCommand acks a slash command with the reply as payload. A payload Slack
// would drop (over 20 KB) is sent to the response_url instead (or, failing
// that, ephemerally or as a DM).
func (s *Server) ackCommand(ctx context.Context, client *socketmode.Client, api *Slack, req *socketmode.Request, reply *handlers.Message, to handlers.Recipient) {
	if reply == nil {
		s.ack(ctx, client, req, nil)
		return
	}
	if err := s.ack(ctx, client, req, ackReply(*reply)); err == nil || ctx.Err() != nil {
		return
	}
	s.ack(ctx, client, req, nil)
	if !s.begin() {
		return
	}
	msg := *reply
	var fallback PrivateMessenger = api
	if s.o.Fallback != nil {
		fallback = s.o.Fallback
	}
	s.background(unit{kind: kindCommand, user: userKey(to.Team, to.User)}, s.log, func(ctx context.Context) {
		s.tellPrivately(ctx, s.log, fallback, to, msg)
	})
}

func (s *Server) ack(ctx context.Context, client *socketmode.Client, req *socketmode.Request, payload any) error {
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	err := client.AckCtx(ctx, req.EnvelopeID, payload)
	if err != nil {
		s.log.Warn("socket mode ack failed", "envelope_id", req.EnvelopeID, "err", err)
	}
	return err
}

func socketEventErr(evt socketmode.Event) error {
	switch d := evt.Data.(type) {
	case *slack.IncomingEventError:
		return d.ErrorObj
	case *socketmode.ErrorBadMessage:
		return d.Cause
	case *socketmode.ErrorWriteFailed:
		return d.Cause
	case error:
		return d
	}
	return nil
}

// onBadEnvelope handles an envelope slack-go could not parse (an event type
// it does not know, say): events_api ones go the events' way, which reads
// the payload itself; any other is acknowledged and dropped, or Slack would
// redeliver it for ever.
func (s *Server) onBadEnvelope(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var req socketmode.Request
	if json.Unmarshal(bad.Message, &req) != nil || req.EnvelopeID == "" {
		s.log.Warn("socket mode: unreadable message", "err", bad.Cause)
		return
	}
	if !s.firstEnvelope(ctx, &req) {
		s.ack(ctx, client, &req, nil)
		return
	}
	if req.Type == socketmode.RequestTypeEventsAPI {
		s.onSocketEvents(ctx, client, &req)
		return
	}
	s.log.Warn("socket mode: envelope dropped, slack-go could not parse it", "envelope_id", req.EnvelopeID, "type", req.Type, "err", bad.Cause)
	s.ack(ctx, client, &req, nil)
}
