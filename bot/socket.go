package bot

import (
	"context"
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
	case socketmode.EventTypeSlashCommand:
		t0 := time.Now()
		sc, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			s.log.Warn("socket mode: unexpected slash command event")
			return
		}
		reply, start := s.onCommand(ctx, sc)
		s.ackCommand(ctx, client, api, evt.Request, reply, sc.ResponseURL)
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
		// mdebot subscribes to no events; ack anyway, or Slack redelivers.
		if evt.Request != nil {
			s.ack(ctx, client, evt.Request, nil)
		}
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
// would drop (over 20 KB) is sent to the response_url instead.
func (s *Server) ackCommand(ctx context.Context, client *socketmode.Client, api *Slack, req *socketmode.Request, reply *handlers.Message, responseURL string) {
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
	s.background(s.log, func(ctx context.Context) {
		if err := postResponseURL(ctx, api.http, responseURL, msg); err != nil {
			s.log.Warn("socket mode: reply not delivered", "err", err)
		}
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
