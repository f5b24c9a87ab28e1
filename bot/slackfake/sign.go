package slackfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Sign signs body like Slack: X-Slack-Request-Timestamp is ts in Unix
// seconds, X-Slack-Signature is "v0=" + hex HMAC-SHA256 of "v0:{ts}:{body}".
func Sign(secret string, ts time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return timestamp, "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// SignedRequest builds the form POST Slack would send to url, signed at now
// (slash commands and interactivity).
func SignedRequest(ctx context.Context, url, secret string, body []byte, now time.Time) (*http.Request, error) {
	return signedRequest(ctx, url, secret, "application/x-www-form-urlencoded", body, now)
}

// SignedJSONRequest builds the JSON POST of the Events API, signed at now.
func SignedJSONRequest(ctx context.Context, url, secret string, body []byte, now time.Time) (*http.Request, error) {
	return signedRequest(ctx, url, secret, "application/json", body, now)
}

func signedRequest(ctx context.Context, url, secret, contentType string, body []byte, now time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("slackfake: building request: %w", err)
	}
	ts, sig := Sign(secret, now, body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	return req, nil
}

// CommandParams are the fields of a slash command.
type CommandParams struct {
	TeamID              string // default DefaultTeamID
	TeamDomain          string // default "fake"
	EnterpriseID        string
	EnterpriseName      string
	IsEnterpriseInstall bool
	ChannelID           string
	ChannelName         string
	UserID              string
	UserName            string
	Command             string // default /mde-package
	Text                string
	ResponseURL         string
	TriggerID           string // default a random one
	APIAppID            string // default DefaultAppID
}

// CommandForm is the form Slack posts for a slash command, every documented
// field included (the deprecated verification token too, which bots must ignore).
func CommandForm(p CommandParams) url.Values {
	v := url.Values{
		"token":                 {"deprecated-verification-token"},
		"team_id":               {or(p.TeamID, DefaultTeamID)},
		"team_domain":           {or(p.TeamDomain, "fake")},
		"channel_id":            {p.ChannelID},
		"channel_name":          {p.ChannelName},
		"user_id":               {p.UserID},
		"user_name":             {p.UserName},
		"command":               {or(p.Command, "/mde-package")},
		"text":                  {p.Text},
		"response_url":          {p.ResponseURL},
		"trigger_id":            {or(p.TriggerID, triggerID())},
		"api_app_id":            {or(p.APIAppID, DefaultAppID)},
		"is_enterprise_install": {strconv.FormatBool(p.IsEnterpriseInstall)},
	}
	if p.EnterpriseID != "" {
		v.Set("enterprise_id", p.EnterpriseID)
		v.Set("enterprise_name", p.EnterpriseName)
	}
	return v
}

// ClickParams are the fields of a button click (block_actions).
type ClickParams struct {
	TeamID       string // default DefaultTeamID
	TeamDomain   string // default "fake"
	EnterpriseID string
	UserID       string
	UserName     string
	ChannelID    string
	ChannelName  string
	MessageTS    string // the message holding the button
	ActionID     string
	Value        string
	BlockID      string
	Label        string // the button's text
	ResponseURL  string
	TriggerID    string // default a random one
	APIAppID     string // default DefaultAppID
}

// BlockActionsPayload is the form Slack posts for a button click: one field,
// payload, holding the block_actions JSON.
func BlockActionsPayload(p ClickParams) url.Values {
	b, _ := json.Marshal(blockActions(p)) // maps of strings always encode
	return url.Values{"payload": {string(b)}}
}

// blockActions is the block_actions payload object (also the Socket Mode envelope payload).
func blockActions(p ClickParams) map[string]any {
	m := interaction{
		team: p.TeamID, domain: p.TeamDomain, enterprise: p.EnterpriseID, user: p.UserID, userName: p.UserName,
		channel: p.ChannelID, channelName: p.ChannelName, appID: p.APIAppID, trigger: p.TriggerID, responseURL: p.ResponseURL,
	}.fields("block_actions")
	m["container"] = map[string]any{
		"type": "message", "message_ts": p.MessageTS, "channel_id": p.ChannelID, "is_ephemeral": false,
	}
	m["message"] = map[string]any{"type": "message", "ts": p.MessageTS}
	m["state"] = map[string]any{"values": map[string]any{}}
	m["actions"] = []any{map[string]any{
		"type":      "button",
		"action_id": p.ActionID,
		"block_id":  p.BlockID,
		"text":      map[string]any{"type": "plain_text", "text": or(p.Label, p.ActionID), "emoji": true},
		"value":     p.Value,
		"action_ts": actionTS(),
	}}
	return m
}

// interaction holds what every interactive payload (block_actions,
// message_action) carries; empty fields get the fake's defaults.
type interaction struct {
	team, domain, enterprise, user, userName, channel, channelName, appID, trigger, responseURL string
}

func (in interaction) fields(typ string) map[string]any {
	team := or(in.team, DefaultTeamID)
	var enterprise any
	if in.enterprise != "" {
		enterprise = map[string]any{"id": in.enterprise}
	}
	return map[string]any{
		"type":                  typ,
		"token":                 "deprecated-verification-token",
		"api_app_id":            or(in.appID, DefaultAppID),
		"trigger_id":            or(in.trigger, triggerID()),
		"response_url":          in.responseURL,
		"is_enterprise_install": false,
		"enterprise":            enterprise,
		"team":                  map[string]any{"id": team, "domain": or(in.domain, "fake")},
		"user":                  map[string]any{"id": in.user, "username": in.userName, "name": in.userName, "team_id": team},
		"channel":               map[string]any{"id": in.channel, "name": in.channelName},
	}
}

// actionTS is an action_ts shaped like Slack's.
func actionTS() string { return strconv.FormatInt(time.Now().Unix(), 10) + ".000100" }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// triggerID returns a random trigger_id shaped like Slack's.
func triggerID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%d.%d.%s", time.Now().Unix(), 47445629121, hex.EncodeToString(b[:]))
}
