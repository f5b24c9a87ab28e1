package demo

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

// The Slack surfaces beyond the slash command, driven the way Slack drives
// them in the configured mode: signed HTTP posts (http) or Socket Mode
// envelopes (socket).

func (e *Env) socket() bool { return e.Config.Slack.Mode == "socket" }

// SendEvent delivers an Events API event: posted to /slack/events, signed
// (http), or as an events_api envelope (socket).
func (e *Env) SendEvent(ctx context.Context, ev slackfake.EventCallback) error {
	if e.socket() {
		_, err := e.Slack.SendEvent(ctx, ev)
		return err
	}
	d, err := e.Slack.PostEvent(ctx, e.BaseURL+"/slack/events", e.Config.Slack.SigningSecret, ev)
	if err != nil {
		return err
	}
	if d.Status != http.StatusOK {
		return fmt.Errorf("the bot answered the event with %d: %s", d.Status, d.Body)
	}
	return nil
}

// OpenHome is user opening the app's Home tab (app_home_opened).
func (e *Env) OpenHome(ctx context.Context, user string) error {
	return e.SendEvent(ctx, e.Slack.AppHomeOpened(slackfake.HomeOpenedParams{UserID: user}))
}

// HomeClick is user clicking a button on the Home tab published for them.
func (e *Env) HomeClick(ctx context.Context, user, actionID, value string) error {
	p, _ := PersonByID(user)
	click := slackfake.HomeClickParams{TeamID: e.Slack.TeamID(), UserID: user, UserName: p.Name, ActionID: actionID, Value: value}
	if e.socket() {
		_, err := e.Slack.SendHomeClick(ctx, click)
		return err
	}
	form, err := e.Slack.HomeClickPayload(click)
	if err != nil {
		return err
	}
	return okAck(e.PostSigned(ctx, "/slack/interactivity", form))
}

// Shortcut is a person using the message shortcut on a message.
func (e *Env) Shortcut(ctx context.Context, p slackfake.ShortcutParams) error {
	if p.TeamID == "" {
		p.TeamID = e.Slack.TeamID()
	}
	if p.ChannelName == "" {
		p.ChannelName = ChannelName(p.ChannelID)
	}
	if e.socket() {
		_, err := e.Slack.SendMessageAction(ctx, p)
		return err
	}
	if p.ResponseURL == "" {
		p.ResponseURL = e.Slack.ResponseURL(p.UserID + "-shortcut")
	}
	return okAck(e.PostSigned(ctx, "/slack/interactivity", slackfake.MessageActionPayload(p)))
}

// RunStep is a workflow reaching the bot's Workflow Builder step with these
// inputs (device, comment, requester, channel); it returns the execution.
func (e *Env) RunStep(ctx context.Context, inputs map[string]any) (slackfake.FunctionExecution, error) {
	ev, exec := e.Slack.FunctionExecuted(slackfake.FunctionParams{CallbackID: handlers.StepCallback, Inputs: inputs,
		Outputs: []string{handlers.StepOutputSHA256, handlers.StepOutputActionID, handlers.StepOutputFileName, handlers.StepOutputRequestID}})
	return exec, e.SendEvent(ctx, ev)
}

// Press presses a button on a message in channel (messageTS may be empty
// for an ephemeral one): a signed post (http) or an envelope (socket).
func (e *Env) Press(ctx context.Context, user, channel, messageTS, actionID, value string) error {
	if e.socket() {
		p, _ := PersonByID(user)
		_, err := e.Slack.SendInteractive(ctx, slackfake.ClickParams{TeamID: e.Slack.TeamID(), UserID: user, UserName: p.Name,
			ChannelID: channel, ChannelName: ChannelName(channel), MessageTS: messageTS, ActionID: actionID, Value: value,
			ResponseURL: e.Slack.ResponseURL(user + "-socket-click")})
		return err
	}
	return okAck(e.Click(ctx, user, channel, messageTS, actionID, value))
}

// Type types a slash command: a signed post (http) or an envelope (socket).
func (e *Env) Type(ctx context.Context, user, channel, text string) error {
	if e.socket() {
		p, _ := PersonByID(user)
		_, err := e.Slack.SendSlashCommand(ctx, slackfake.CommandParams{TeamID: e.Slack.TeamID(), ChannelID: channel,
			ChannelName: ChannelName(channel), UserID: user, UserName: p.Name, Command: e.Config.Slack.Command, Text: text,
			ResponseURL: e.Slack.ResponseURL(user + "-socket")})
		return err
	}
	return okAck(e.Command(ctx, user, channel, text))
}

func okAck(a *Ack, err error) error {
	if err != nil {
		return err
	}
	if a.Status != http.StatusOK {
		return fmt.Errorf("the bot answered %d: %s", a.Status, a.Body)
	}
	return nil
}

// HomeText is a published Home tab as the person sees it, in plain text:
// headers, texts, buttons as [Label].
func HomeText(hv slackfake.HomeView) string {
	return strings.TrimSpace(strings.ReplaceAll(renderBlocks("", hv.Blocks), "\n    ", "\n"))
}
