package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
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
	return e.Send(ctx, base, e.SignCommand(user, channel, text))
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
	return e.Send(ctx, base, e.Sign(path, form))
}

// Signed is a Slack request signed once, which a test may send as often as
// it likes: Slack's retries, or an attacker's replays.
type Signed struct {
	Path                 string
	Body                 []byte
	Timestamp, Signature string
}

// Sign signs a form for path now, with the configured secret.
func (e *Env) Sign(path string, form url.Values) Signed {
	body := []byte(form.Encode())
	ts, sig := slackfake.Sign(e.Config.Slack.SigningSecret, time.Now(), body)
	return Signed{Path: path, Body: body, Timestamp: ts, Signature: sig}
}

// SignCommand is a slash command typed as user in channel, signed once.
func (e *Env) SignCommand(user, channel, text string) Signed {
	p, _ := PersonByID(user)
	return e.Sign("/slack/commands", slackfake.CommandForm(slackfake.CommandParams{
		TeamID: e.Slack.TeamID(), ChannelID: channel, ChannelName: ChannelName(channel), UserID: user, UserName: p.Name,
		Command: e.Config.Slack.Command, Text: text, ResponseURL: e.Slack.ResponseURL(fmt.Sprintf("%s-%d", user, time.Now().UnixNano())),
	}))
}

// Send posts a signed request, byte for byte as signed, to the bot at base.
func (e *Env) Send(ctx context.Context, base string, s Signed) (*Ack, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+s.Path, bytes.NewReader(s.Body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", s.Timestamp)
	req.Header.Set("X-Slack-Signature", s.Signature)
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
// the bot's callback page, and confirm there when the page asks
// (identity.require_email_match false).
func (e *Env) Login(ctx context.Context, user string) (page string, err error) {
	status, page, err := e.SignIn(ctx, user)
	if err != nil {
		return page, err
	}
	if f, ok := ParseConfirmForm(page); ok {
		status, page, err = e.Confirm(ctx, f)
		if err != nil {
			return page, err
		}
	}
	if status != http.StatusOK {
		return page, fmt.Errorf("sign-in page answered %d: %s", status, page)
	}
	return page, nil
}

// SignIn is Login up to the callback page, which it returns without
// answering a confirmation form.
func (e *Env) SignIn(ctx context.Context, user string) (status int, page string, err error) {
	p, ok := PersonByID(user)
	if !ok {
		return 0, "", fmt.Errorf("unknown demo user %s", user)
	}
	since := len(e.Slack.Events())
	if _, err := e.Command(ctx, user, ChanRandom, "login"); err != nil {
		return 0, "", err
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
		return 0, "", fmt.Errorf("no sign-in link for %s (after %d events): %w", p.Name, since, err)
	}
	link = strings.ReplaceAll(link, `\u0026`, "&")
	redirect, err := e.Entra.Browse(ctx, link, p.Email)
	if err != nil {
		return 0, "", fmt.Errorf("sign-in at the authority: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, redirect.String(), nil)
	if err != nil {
		return 0, "", err
	}
	return e.page(req)
}

// ConfirmForm is the sign-in confirmation form of a callback page.
type ConfirmForm struct {
	State, Code, CSRF string
}

var formField = regexp.MustCompile(`name="(state|code|csrf)" value="([^"]*)"`)

// ParseConfirmForm finds the confirmation form in a callback page; ok is
// false when the page has none.
func ParseConfirmForm(page string) (f ConfirmForm, ok bool) {
	if !strings.Contains(page, `action="confirm"`) {
		return f, false
	}
	for _, m := range formField.FindAllStringSubmatch(page, -1) {
		v := html.UnescapeString(m[2])
		switch m[1] {
		case "state":
			f.State = v
		case "code":
			f.Code = v
		case "csrf":
			f.CSRF = v
		}
	}
	return f, true
}

// Confirm submits a confirmation form to /auth/confirm as the browser would.
func (e *Env) Confirm(ctx context.Context, f ConfirmForm) (status int, page string, err error) {
	form := url.Values{"state": {f.State}, "code": {f.Code}, "csrf": {f.CSRF}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.BaseURL+"/auth/confirm", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.page(req)
}

// page fetches a sign-in page.
func (e *Env) page(req *http.Request) (int, string, error) {
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
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
