// Package handlers holds mdebot's use cases: the command grammar, channel and
// requester policy, approvals, the request lifecycle run by durable jobs,
// delivery decisions and audit. It is platform-neutral: it never imports
// slack-go, MSAL or a database driver; it talks to them through the small
// interfaces in ports.go.
package handlers

import "time"

// Kind is what a request asks for.
type Kind string

const (
	// KindGet delivers the package of an existing CollectInvestigationPackage action.
	KindGet Kind = "get"
	// KindCollect starts a collection on a device, then delivers like KindGet.
	KindCollect Kind = "collect"
	// KindGetFile fetches one file from a device with a live response
	// GetFile session, then delivers its .gz like a package.
	KindGetFile Kind = "getfile"
)

// Delivery is how a package reaches people; set per channel by policy.
type Delivery string

const (
	// DeliveryLink sends the short-lived link privately to the requester.
	DeliveryLink Delivery = "link"
	// DeliveryLinkInChannel posts the short-lived link in the channel.
	DeliveryLinkInChannel Delivery = "link_in_channel"
	// DeliveryUpload streams the zip into the request's thread with its SHA-256.
	DeliveryUpload Delivery = "upload"
)

// State is where a request is in its lifecycle.
//
// Rules: which state may follow which is the transition table (transitions.go),
// and every change goes through Service.move; a request moves forward only,
// except that a fetch job may release its claim (fetching -> ready); the
// terminal states (Delivered, Failed, Denied, Expired, Cancelled) are final;
// the requester is told about reaching a terminal state (ToldAt records it: a
// crash may repeat the telling, never skip it).
type State string

const (
	// StateReceived: stored when the command was acknowledged; the policy and
	// Defender checks have not run yet (they run at once, or after a crash).
	StateReceived State = "received"
	// StateAwaitingConfirmation: a collect request waiting for the requester's Confirm click.
	StateAwaitingConfirmation State = "awaiting_confirmation"
	// StateAwaitingApproval: waiting for approvers in the channel.
	StateAwaitingApproval State = "awaiting_approval"
	// StateApproved: cleared to run (approved, or no approval needed); a job picks it up.
	// A collect request in this state has not yet been sent to Defender.
	StateApproved State = "approved"
	// StateWaiting: the machine action is not complete; a job polls it.
	StateWaiting State = "waiting"
	// StateReady: the action succeeded; the request waits for the shared fetch of its action.
	StateReady State = "ready"
	// StateFetching: claimed by a fetch job (LeaseOwner until LeaseUntil).
	StateFetching State = "fetching"

	StateDelivered State = "delivered"
	StateFailed    State = "failed"
	StateDenied    State = "denied"
	StateExpired   State = "expired"
	StateCancelled State = "cancelled"
)

// Terminal reports whether s is final.
func (s State) Terminal() bool {
	switch s {
	case StateDelivered, StateFailed, StateDenied, StateExpired, StateCancelled:
		return true
	}
	return false
}

// Request is one analyst's ask, from the slash command to its terminal state.
//
// Rules: ID is unique and never reused; Team, Channel and User never change;
// ActionID is set for get requests at creation and for collect requests once
// Defender accepted (or attached to) a collection; Version increments on every
// write (optimistic concurrency: a stale write fails with ErrConflict).
// The package URL is never part of a Request: it is a credential and is never stored.
type Request struct {
	ID          string
	Team        string
	Channel     string
	ChannelName string
	User        string // Slack user ID of the requester
	Kind        Kind
	ActionID    string
	// Target is what the requester typed: the action ID (get) or the device
	// ID or host name (collect).
	Target      string
	MachineID   string
	MachineName string
	// Path is the file a live response GetFile fetches from the device
	// (validated by mde.ValidateLiveResponsePath): set for getfile, and for
	// a get of a LiveResponse action; empty for investigation packages.
	Path string
	// BatchID links the requests of one collect on several devices (one
	// confirmation, one channel card); empty for a request on its own.
	BatchID  string
	Comment  string
	Delivery Delivery
	// ResponseURL is Slack's response_url of the slash command (valid 30 minutes).
	ResponseURL string
	State       State
	// Detail is the outcome or last status in plain words, without markup
	// (shown to people, stored and audited).
	Detail string
	// DecidedBy is the approver whose decision ended the request (a denial).
	DecidedBy string
	// LastStatus is Defender's last seen action status (Pending, InProgress, ...).
	LastStatus string
	// ActionCreated and ActionUpdated are Defender's times of the action as
	// last seen (for the package's custody record).
	ActionCreated, ActionUpdated time.Time
	// MessageTS is the request's channel message (approval prompt, then progress);
	// uploads and summaries go into its thread. Empty when it could not be posted.
	MessageTS string
	// Approval policy captured at creation, so a config change does not alter a pending request.
	RequiredApprovals int
	Approvers         []string // user or user-group IDs
	// ExpiresAt closes the window of the decision awaited (confirmation or
	// approval): a click at or after it changes nothing but expiring the request.
	ExpiresAt time.Time
	// ExpiresAfter is the length of that window as configured when it opened
	// (approval.expires_after, or the confirmation's), for what people are told.
	ExpiresAfter time.Duration
	// WaitDeadline ends polling (mde.wait_timeout after the wait began).
	WaitDeadline time.Time
	Polls        int
	// QueuePosition is the last position told while waiting for the getPackageUri limiter (0 = not queued).
	QueuePosition int
	LeaseOwner    string
	LeaseUntil    time.Time
	SHA256        string
	Bytes         int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// ToldAt is when the requester was told about the terminal state; zero until then.
	ToldAt  time.Time
	Version int64
}

// LiveResponse reports whether r delivers a live response result (a file
// fetched with GetFile) rather than an investigation package.
func (r *Request) LiveResponse() bool { return r.Path != "" }

// Decision is one approver's click on a request.
// Rules: at most one decision per (RequestID, Approver); the requester never decides.
type Decision struct {
	RequestID string
	Approver  string
	Approve   bool
	At        time.Time
}

// AuditEvent is one line of the audit trail, exported as JSON lines for a SIEM.
// It never holds a URL, a token or a secret.
type AuditEvent struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	RequestID string    `json:"request_id,omitempty"`
	Team      string    `json:"team,omitempty"`
	Channel   string    `json:"channel,omitempty"`
	Actor     string    `json:"actor,omitempty"` // Slack user ID who acted
	Event     string    `json:"event"`           // e.g. request.created, approval.approved, delivery.upload
	Outcome   string    `json:"outcome,omitempty"`
	ActionID  string    `json:"action_id,omitempty"`
	MachineID string    `json:"machine_id,omitempty"`
	SHA256    string    `json:"sha256,omitempty"`
	Bytes     int64     `json:"bytes,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}
