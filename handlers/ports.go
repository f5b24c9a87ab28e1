package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/mdebot/mdebot/identity/account"
	"github.com/mdebot/mdebot/mde"
)

// The interfaces handlers needs from the outside world. Implementations:
// store (RequestStore, ApprovalStore, AuditLog, limiter), bot (Messenger,
// Directory), mde (Defender), identity (Identity), queue (Jobs).

// ErrNotFound is returned by stores when a row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned by RequestStore.UpdateRequest when the row changed
// since it was read (its Version moved on).
var ErrConflict = errors.New("request changed concurrently")

// RequestStore persists requests.
type RequestStore interface {
	// CreateRequest inserts r (r.ID set by the caller); sets r.Version to 1.
	CreateRequest(ctx context.Context, r *Request) error
	// GetRequest returns ErrNotFound when there is no such request.
	GetRequest(ctx context.Context, id string) (*Request, error)
	// UpdateRequest writes every field of r if the stored Version equals
	// r.Version and the stored row meets c (checked in the same conditional
	// update), then increments r.Version; otherwise ErrConflict.
	UpdateRequest(ctx context.Context, r *Request, c Cond) error
	// ClaimReady atomically moves this action's requests that are StateReady,
	// or StateFetching with LeaseUntil before now, to StateFetching with the
	// given owner and lease, and returns them oldest first.
	ClaimReady(ctx context.Context, actionID, owner string, leaseUntil, now time.Time) ([]*Request, error)
	// ExtendLease moves LeaseUntil of every request still fetching under owner.
	ExtendLease(ctx context.Context, owner string, leaseUntil time.Time) error
	// ListRequests returns requests in any of the given states, oldest first.
	ListRequests(ctx context.Context, states ...State) ([]*Request, error)
	// ListUntold returns requests in a terminal state whose requester has not
	// been told yet (ToldAt zero), oldest first.
	ListUntold(ctx context.Context) ([]*Request, error)
	// LatestDelivered returns the action's most recently delivered request
	// that has a package (SHA256 set), or nil.
	LatestDelivered(ctx context.Context, actionID string) (*Request, error)
	// CountPending counts the user's requests not in a terminal state, the
	// requests of one batch as one.
	CountPending(ctx context.Context, team, user string) (int, error)
	// ListBatch returns the requests of a batch (Request.BatchID), oldest first.
	ListBatch(ctx context.Context, batchID string) ([]*Request, error)
	// RecentRequests returns the user's last n requests, newest first.
	RecentRequests(ctx context.Context, team, user string, n int) ([]*Request, error)
	// AwaitingApproval returns at most n of team's requests awaiting
	// approval, soonest to expire first.
	AwaitingApproval(ctx context.Context, team string, n int) ([]*Request, error)
	// ActionRequests returns the team's requests of an action in state st,
	// newest first, at most n.
	ActionRequests(ctx context.Context, team, actionID string, st State, n int) ([]*Request, error)
	// PurgeRequests deletes the ended requests told before before (and
	// their decisions); it returns how many.
	PurgeRequests(ctx context.Context, before time.Time) (int, error)
}

// ApprovalStore persists approvers' decisions.
type ApprovalStore interface {
	// AddDecision records d unless this approver already decided on this
	// request, or the request is not awaiting approval, or its window had
	// closed at d.At (checked in the same statement); added reports whether
	// it was recorded.
	AddDecision(ctx context.Context, d Decision) (added bool, err error)
	// Decisions lists a request's decisions, oldest first.
	Decisions(ctx context.Context, requestID string) ([]Decision, error)
}

// AuditLog is the append-only audit trail.
type AuditLog interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns events at or after since, oldest first.
	ListAudit(ctx context.Context, since time.Time) ([]AuditEvent, error)
	// PurgeAudit deletes the events before before; it returns how many.
	PurgeAudit(ctx context.Context, before time.Time) (int, error)
}

// Limiter rations one budget of Defender calls (getPackageUri:
// mde.package_uri_limit; runliveresponse: mde.live_response_limit),
// in-process or across replicas. Its queue is served round-robin across users.
type Limiter interface {
	// Take asks for a call slot for key (an action ID for getPackageUri, a
	// request ID for runliveresponse) served for user (the Slack user the
	// call is made for). When granted the call is
	// counted and the key leaves the queue; otherwise the key joins (or
	// keeps) its place in the queue and the Slot tells its position and ETA.
	Take(ctx context.Context, key, user string) (mde.Slot, error)
	// Leave removes key from the queue (the caller gave up).
	Leave(ctx context.Context, key string) error
	// QueueLen is the number of keys waiting.
	QueueLen(ctx context.Context) (int, error)
}

// Defender is the part of the mde client handlers uses.
type Defender interface {
	GetMachineAction(ctx context.Context, ts mde.TokenSource, id string) (*mde.MachineAction, error)
	GetPackageURI(ctx context.Context, ts mde.TokenSource, id string) (mde.PackageURL, error)
	ListMachineActions(ctx context.Context, ts mde.TokenSource, filter string) ([]mde.MachineAction, error)
	// ListMachineActionsByID reads many actions in few calls (id filters,
	// 50 to a call); what it read before an error is returned with it.
	ListMachineActionsByID(ctx context.Context, ts mde.TokenSource, ids []string) (map[string]mde.MachineAction, error)
	CollectInvestigationPackage(ctx context.Context, ts mde.TokenSource, machineID, comment string) (*mde.MachineAction, error)
	FindMachine(ctx context.Context, ts mde.TokenSource, query string) ([]mde.Machine, error)
	OpenPackage(ctx context.Context, u mde.PackageURL) (*mde.Package, error)
	RunLiveResponseGetFile(ctx context.Context, ts mde.TokenSource, machineID, path, comment string) (*mde.MachineAction, error)
	GetLiveResponseResultDownloadLink(ctx context.Context, ts mde.TokenSource, actionID string, index int) (mde.ResultURL, error)
}

// Identity is the delegated-identity service (package identity).
type Identity interface {
	// Token gives the user's delegated access token silently; it fails with
	// account.ErrNotLinked when the user must link again.
	Token(ctx context.Context, team, user string) (string, error)
	// StartLogin begins linking the user (flow per account.flow).
	StartLogin(ctx context.Context, team, user string) (*account.Prompt, error)
	// CompleteLogin redeems an auth-code callback. Failures for a known user
	// come as *account.LinkError.
	CompleteLogin(ctx context.Context, state, code string) (*account.Link, error)
	// PendingLogin, when identity.require_email_match is off, reads an
	// auth-code callback without redeeming it: who is to be linked, for the
	// confirmation page (nil when no confirmation is asked for).
	PendingLogin(ctx context.Context, state, code string) (*account.Pending, error)
	// ConfirmLogin redeems a confirmed callback; csrf is the page's token.
	ConfirmLogin(ctx context.Context, state, code, csrf string) (*account.Link, error)
	// Linked returns the user's link, or account.ErrNotLinked.
	Linked(ctx context.Context, team, user string) (*account.Link, error)
	// Unlink deletes the user's link and token cache.
	Unlink(ctx context.Context, team, user string) error
}

// Messenger sends and edits messages; the transport renders them.
type Messenger interface {
	// Private shows msg to one user only: ephemeral in the channel, falling
	// back to the response_url, then to a DM.
	Private(ctx context.Context, to Recipient, msg Message) error
	// DM sends msg as a direct message (persists, unlike ephemeral messages).
	DM(ctx context.Context, team, user string, msg Message) error
	// Post posts msg in a channel (in a thread when threadTS is set) and returns its ts.
	Post(ctx context.Context, channel, threadTS string, msg Message) (ts string, err error)
	// Update replaces the message at ts.
	Update(ctx context.Context, channel, ts string, msg Message) error
	// Upload streams a file into a channel thread.
	Upload(ctx context.Context, f Upload) error
}

// Directory answers who is who on the chat platform (cached by the transport).
type Directory interface {
	// ChannelName returns the channel's name without '#'.
	ChannelName(ctx context.Context, channel string) (string, error)
	// GroupMembers returns the user IDs of a user group.
	GroupMembers(ctx context.Context, group string) ([]string, error)
	// ChannelExternal reports whether the channel is shared with another
	// organisation (Slack Connect), or an invitation to share it is pending.
	ChannelExternal(ctx context.Context, channel string) (bool, error)
	// IsGuest reports whether the user is a guest (single- or multi-channel).
	IsGuest(ctx context.Context, user string) (bool, error)
}

// Jobs starts durable work. Both calls are idempotent: a job already queued
// for the same request or action is not queued twice.
type Jobs interface {
	// StartRequest runs Service.RunRequest for id soon.
	StartRequest(ctx context.Context, id string) error
	// StartFetch runs Service.RunFetch for actionID at (or soon after) at.
	StartFetch(ctx context.Context, actionID string, at time.Time) error
	// RecoverFetch runs Service.RunFetch for actionID now even while a fetch
	// job of a dead replica still counts as running; epoch names the stuck
	// situation, so repeated sweeps queue it once.
	RecoverFetch(ctx context.Context, actionID, epoch string) error
	// ScheduleExpiry runs Service.RunExpiry for request id at at (a job of
	// its own kind, so a queued request job never hides it).
	ScheduleExpiry(ctx context.Context, id string, at time.Time) error
	// StartTriage runs Service.RunTriage for request id soon (a job of its
	// own kind, queued once per request).
	StartTriage(ctx context.Context, id string) error
}

// Next tells the job runner what to do after a step.
type Next struct {
	// After, when positive, runs the step again after this long (a snooze: no worker is held).
	After time.Duration
}

// Metrics records what operators watch; telemetry implements it with Prometheus.
type Metrics interface {
	// Command counts a command by kind (get, collect, status, login, ...) and outcome.
	Command(kind, outcome string)
	// Delivery counts a delivery by mode and outcome, and the bytes delivered.
	Delivery(mode, outcome string, bytes int64)
	// LimiterQueue sets the number of actions waiting for a getPackageUri slot.
	LimiterQueue(n int)
	// LimiterWait records the ETA told to a waiter.
	LimiterWait(wait time.Duration)
	// ApprovalsPending sets the number of requests awaiting approval.
	ApprovalsPending(n int)
	// JobFailure counts a failed job run by job kind.
	JobFailure(job string)
}
