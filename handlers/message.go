package handlers

import (
	"context"
	"io"
	"time"
)

// Command is a slash command after the transport verified it.
type Command struct {
	RequestID   string // correlation id for logs, set by the transport
	Team        string
	Channel     string
	ChannelName string // as Slack sent it; policy resolves names itself
	User        string
	UserName    string
	Command     string // e.g. /mde-package
	Text        string
	ResponseURL string
	TriggerID   string
	ReceivedAt  time.Time
}

// Click is a button click (Block Kit block_actions) after the transport verified it.
type Click struct {
	RequestID   string
	Team        string
	Channel     string
	User        string
	ActionID    string // the button's action_id, e.g. ActionApprove
	Value       string // the button's value (a request ID)
	MessageTS   string // the message holding the button
	ResponseURL string
	TriggerID   string
	// Surface is where the button was: a message (channel, DM) or the
	// clicker's App Home tab (no channel, no message, no response_url).
	Surface Surface
}

// Button action IDs; the transport passes them through unchanged.
const (
	ActionApprove = "mdebot_approve"
	ActionDeny    = "mdebot_deny"
	ActionConfirm = "mdebot_confirm"
	ActionCancel  = "mdebot_cancel"
	// ActionDownload asks for a fresh link to a stored package.
	ActionDownload = "mdebot_download"
)

// Ack is what the transport sends back at once, and the work it runs afterwards.
type Ack struct {
	// Reply, when set, is shown privately to the user in the acknowledgement itself.
	Reply *Message
	// Work, when set, runs after the acknowledgement was sent, in the background.
	Work func(ctx context.Context)
}

// Message is a platform-neutral message; the transport renders it (Block Kit)
// in one place, building every bit of markup from typed parts (Text).
type Message struct {
	// Header says what happened, in one short line.
	Header Text
	// Text is the body: short paragraphs.
	Text Text
	// Fields are label/value pairs (machine, action, status, ...).
	Fields []Field
	// Next says what the reader can do next.
	Next Text
	// Buttons are shown in one actions block.
	Buttons []Button
	// Context is small print (request id, reference, times).
	Context Text
	// InChannel, for an ack reply, shows it to the channel instead of only to the user.
	InChannel bool
}

// Field is a label/value pair.
type Field struct {
	Label string
	Value Text
}

// Button is an interactive button; Value carries the request ID.
type Button struct {
	Label    string
	ActionID string
	Value    string
	Style    string // "", "primary" or "danger"
	Confirm  *Confirm
}

// Confirm is a confirmation dialog shown before a dangerous click takes effect.
type Confirm struct {
	Title   string
	Text    string
	Confirm string
	Deny    string
}

// Recipient addresses a private reply to the user who typed a command.
type Recipient struct {
	Team        string
	Channel     string
	User        string
	ResponseURL string
}

// Upload is a file to stream into a channel thread.
type Upload struct {
	Channel  string
	ThreadTS string
	Filename string
	Title    string
	// Size must be the exact byte length of Body.
	Size    int64
	Body    io.Reader
	Comment string
	// ToUser, when Channel is empty, sends the file to this user's direct
	// messages instead.
	ToUser string
}

// Page is the plain result page of the sign-in callback. Its texts are
// fixed by the use cases, never taken from the request.
type Page struct {
	OK    bool
	Title string
	Text  string
	// Confirm, when set, makes the page a confirmation form (POST
	// /auth/confirm) naming the Slack user to be linked; nothing is stored
	// before it comes back.
	Confirm *LinkConfirm
}

// LinkConfirm is what the confirmation form shows and posts back.
type LinkConfirm struct {
	// Team and User are the Slack workspace and user the sign-in link was made for.
	Team, User string
	// State and Code are the callback's, checked by identity; CSRF is the
	// token bound to that state.
	State, Code, CSRF string
}
