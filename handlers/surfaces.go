package handlers

import (
	"context"
	"log/slog"
)

// The Slack surfaces beyond the slash command (DESIGN.md, "Slack surfaces
// beyond the slash command"): Events API events (App Home, Workflow Builder
// steps) and message shortcuts, in platform-neutral form. Each surface can be
// turned off (slack.features); a turned-off surface does nothing.

// EventKind names an Events API event the use cases act on.
type EventKind string

const (
	// EventHomeOpened is app_home_opened: a user opened the app's tab.
	EventHomeOpened EventKind = "app_home_opened"
	// EventStepExecuted is function_executed: a workflow reached the app's step.
	EventStepExecuted EventKind = "function_executed"
)

// Event is an Events API event after the transport verified it (signature,
// workspace) and dropped Slack's retries of one already handled.
type Event struct {
	RequestID string // correlation id for logs, set by the transport
	ID        string // Slack's event_id
	Team      string
	Kind      EventKind
	// User is who opened the tab (EventHomeOpened).
	User string
	// Tab is the tab opened (EventHomeOpened): "home" or "messages".
	Tab string
	// Step is the step's execution (EventStepExecuted).
	Step *StepCall
}

// StepCall is one execution of a Workflow Builder step (function_executed).
type StepCall struct {
	CallbackID  string
	ExecutionID string
	// Inputs are the step's string inputs by name (user and channel IDs are strings too).
	Inputs map[string]string
	// Token is the execution's bot_access_token: Slack wants the step
	// completed with it. A credential: it prints as [redacted].
	Token Secret
}

// Shortcut is a message shortcut (Slack's message_action) after the
// transport verified it.
type Shortcut struct {
	RequestID   string
	Team        string
	Channel     string // where the message is
	User        string // who used the shortcut
	CallbackID  string
	ResponseURL string
	TriggerID   string
	// Text is every text of the message: its text, its attachments' and its
	// blocks', one per line. It is untrusted: only searched, never shown as is.
	Text string
}

// Surface is where a button was clicked.
type Surface string

const (
	// SurfaceChannel is a message in a channel or a DM (the default).
	SurfaceChannel Surface = ""
	// SurfaceHome is the clicker's own App Home tab: Slack shows it to that
	// user only, and a click there carries no channel and no message.
	SurfaceHome Surface = "home"
)

// More button action IDs (see ActionApprove).
const (
	// ActionSignIn and ActionSignOut link and unlink the clicker's
	// Microsoft account (App Home).
	ActionSignIn  = "mdebot_sign_in"
	ActionSignOut = "mdebot_sign_out"
	// ActionFromMessage runs the get or collect a message shortcut found:
	// its value is the command text.
	ActionFromMessage = "mdebot_from_message"
)

// Secret is a credential held in memory on its way to the one call that
// needs it: it prints, formats and logs as [redacted].
type Secret struct{ v string }

// NewSecret wraps a credential.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the credential, for the call that sends it.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether there is no credential.
func (s Secret) IsZero() bool { return s.v == "" }

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "[redacted]" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Event acts on an Events API event: nothing is answered at once (Slack
// reads no reply to an event); the work runs after the acknowledgement.
func (s *Service) Event(_ context.Context, e Event) Ack {
	switch e.Kind {
	case EventHomeOpened:
		if s.home == nil || e.Tab != "home" || e.User == "" {
			return Ack{}
		}
		return Ack{Work: func(context.Context) { s.home.touch(e.Team, e.User) }}
	case EventStepExecuted:
		if e.Step == nil {
			return Ack{}
		}
		return Ack{Work: func(ctx context.Context) { s.stepExecuted(ctx, e) }}
	}
	s.logger(e.RequestID).Debug("event ignored", "kind", e.Kind)
	return Ack{}
}
