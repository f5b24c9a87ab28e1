package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
)

// Ack is the bot's HTTP answer to a signed Slack request.
type Ack struct {
	Status int
	Body   []byte
	// Reply is the immediate message in the acknowledgement, if any.
	Reply struct {
		ResponseType string          `json:"response_type"`
		Text         string          `json:"text"`
		Blocks       json.RawMessage `json:"blocks"`
	}
}

// Command types a slash command as user in channel, signed like Slack signs it.
func (e *Env) Command(ctx context.Context, user, channel, text string) (*Ack, error) {
	return e.CommandAt(ctx, e.BaseURL, user, channel, text)
}

// CommandAt is Command sent to the bot at base (one replica of several).
func (e *Env) CommandAt(ctx context.Context, base, user, channel, text string) (*Ack, error) {
	p, _ := PersonByID(user)
	form := slackfake.CommandForm(slackfake.CommandParams{
		TeamID: e.Slack.TeamID(), ChannelID: channel, ChannelName: ChannelName(channel), UserID: user, UserName: p.Name,
		Command: e.Config.Slack.Command, Text: text, ResponseURL: e.Slack.ResponseURL(fmt.Sprintf("%s-%d", user, time.Now().UnixNano())),
	})
	return e.PostSignedAt(ctx, base, "/slack/commands", form)
}

// Click presses a button as user on the message at messageTS in channel.
func (e *Env) Click(ctx context.Context, user, channel, messageTS, actionID, value string) (*Ack, error) {
	return e.ClickAt(ctx, e.BaseURL, user, channel, messageTS, actionID, value)
}

// ClickAt is Click sent to the bot at base (one replica of several).
func (e *Env) ClickAt(ctx context.Context, base, user, channel, messageTS, actionID, value string) (*Ack, error) {
	p, _ := PersonByID(user)
	form := slackfake.BlockActionsPayload(slackfake.ClickParams{
		TeamID: e.Slack.TeamID(), UserID: user, UserName: p.Name, ChannelID: channel, ChannelName: ChannelName(channel),
		MessageTS: messageTS, ActionID: actionID, Value: value,
		ResponseURL: e.Slack.ResponseURL(fmt.Sprintf("%s-click-%d", user, time.Now().UnixNano())),
	})
	return e.PostSignedAt(ctx, base, "/slack/interactivity", form)
}

// PostSigned posts a form to the bot, signed with the configured secret now.
func (e *Env) PostSigned(ctx context.Context, path string, form url.Values) (*Ack, error) {
	return e.PostSignedAt(ctx, e.BaseURL, path, form)
}

// PostSignedAt is PostSigned to the bot at base.
func (e *Env) PostSignedAt(ctx context.Context, base, path string, form url.Values) (*Ack, error) {
	req, err := slackfake.SignedRequest(ctx, base+path, e.Config.Slack.SigningSecret, []byte(form.Encode()), time.Now())
	if err != nil {
		return nil, err
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	a := &Ack{Status: resp.StatusCode}
	if a.Body, err = io.ReadAll(resp.Body); err != nil {
		return nil, err
	}
	if len(a.Body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(a.Body, &a.Reply); err != nil {
			return nil, fmt.Errorf("ack body: %w", err)
		}
	}
	return a, nil
}

// signInLink finds the sign-in URL in a message: <https://...|label> or a bare URL.
var signInLink = regexp.MustCompile(`<?(https://[^|>\s]+authorize[^|>\s]*)`)

// Login links user's Microsoft account the way a person would: /mde-package
// login, open the private sign-in link, sign in at (fake) Microsoft, land on
// the bot's callback page.
func (e *Env) Login(ctx context.Context, user string) (page string, err error) {
	p, ok := PersonByID(user)
	if !ok {
		return "", fmt.Errorf("unknown demo user %s", user)
	}
	since := len(e.Slack.Events())
	if _, err := e.Command(ctx, user, ChanRandom, "login"); err != nil {
		return "", err
	}
	var link string
	_, err = e.WaitAfter(ctx, since, func(ev slackfake.Event) bool {
		if ev.Message != nil && ev.Message.Ephemeral && ev.Message.User == user {
			if m := signInLink.FindStringSubmatch(ev.Message.Text + " " + string(ev.Message.Blocks)); m != nil {
				link = m[1]
				return true
			}
		}
		if ev.Response != nil {
			if m := signInLink.FindStringSubmatch(ev.Response.Text + " " + string(ev.Response.Blocks)); m != nil {
				link = m[1]
				return true
			}
		}
		return false
	})
	if err != nil {
		return "", fmt.Errorf("no sign-in link for %s (after %d events): %w", p.Name, since, err)
	}
	link = strings.ReplaceAll(link, `\u0026`, "&")
	redirect, err := e.Entra.Browse(ctx, link, p.Email)
	if err != nil {
		return "", fmt.Errorf("sign-in at the authority: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, redirect.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("callback answered %d: %s", resp.StatusCode, body)
	}
	return string(body), nil
}

// Mark is the number of Slack events so far, for WaitAfter.
func (e *Env) Mark() int { return len(e.Slack.Events()) }

// WaitAfter waits for the first Slack event after the first since events
// for which pred is true.
func (e *Env) WaitAfter(ctx context.Context, since int, pred func(slackfake.Event) bool) (slackfake.Event, error) {
	n := 0
	return e.Slack.WaitFor(ctx, func(ev slackfake.Event) bool {
		n++
		return n > since && pred(ev)
	})
}
