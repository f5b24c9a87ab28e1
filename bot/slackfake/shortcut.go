package slackfake

import (
	"context"
	"encoding/json"
	"net/url"
)

// DefaultShortcutID is the message shortcut's callback_id in mdebot's manifest.
const DefaultShortcutID = "mde_package_from_message"

// ShortcutParams are the fields of a message shortcut (message_action): a
// user picked the app's action from a message's menu.
type ShortcutParams struct {
	TeamID       string // default DefaultTeamID (Socket Mode: the fake's team)
	TeamDomain   string // default "fake"
	EnterpriseID string
	UserID       string
	UserName     string
	ChannelID    string
	ChannelName  string
	CallbackID   string // default DefaultShortcutID
	// The message the shortcut was used on. Text may be empty for a message
	// made of blocks or attachments, as in Slack.
	MessageTS   string
	MessageUser string // its author
	Text        string
	Blocks      json.RawMessage // a JSON array; left out when nil or not valid JSON
	Attachments json.RawMessage // a JSON array; left out when nil or not valid JSON
	ResponseURL string
	TriggerID   string // default a random one
	APIAppID    string // default DefaultAppID
}

// MessageActionPayload is the form Slack posts to the interactivity URL for
// a message shortcut: one field, payload, holding the message_action JSON.
func MessageActionPayload(p ShortcutParams) url.Values {
	b, _ := json.Marshal(messageAction(p)) // raw JSON fields are valid: messageAction checks them
	return url.Values{"payload": {string(b)}}
}

// SendMessageAction delivers a message shortcut as an interactive envelope
// and returns the ack. Empty TeamID and ResponseURL get the fake's.
func (s *Server) SendMessageAction(ctx context.Context, p ShortcutParams) (Acked, error) {
	if p.TeamID == "" {
		p.TeamID = s.o.TeamID
	}
	if p.ResponseURL == "" {
		p.ResponseURL = s.ResponseURL("shortcut")
	}
	// Slack documents accepts_response_payload false for shortcuts.
	return s.sendEnvelope(ctx, "interactive", messageAction(p), false)
}

func messageAction(p ShortcutParams) map[string]any {
	m := interaction{
		team: p.TeamID, domain: p.TeamDomain, enterprise: p.EnterpriseID, user: p.UserID, userName: p.UserName,
		channel: p.ChannelID, channelName: p.ChannelName, appID: p.APIAppID, trigger: p.TriggerID, responseURL: p.ResponseURL,
	}.fields("message_action")
	msg := map[string]any{"type": "message", "user": p.MessageUser, "ts": p.MessageTS, "text": p.Text}
	if json.Valid(p.Blocks) {
		msg["blocks"] = p.Blocks
	}
	if json.Valid(p.Attachments) {
		msg["attachments"] = p.Attachments
	}
	m["callback_id"] = or(p.CallbackID, DefaultShortcutID)
	m["message_ts"] = p.MessageTS
	m["action_ts"] = actionTS()
	m["message"] = msg
	return m
}
