package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/mdebot/mdebot/identity"
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
	// r.Version, then increments r.Version; otherwise ErrConflict.
	UpdateRequest(ctx context.Context, r *Request) error
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
}

// ApprovalStore persists approvers' decisions.
type ApprovalStore interface {
	// AddDecision records d unless this approver already decided on this
	// request; added reports whether it was recorded.
	AddDecision(ctx context.Context, d Decision) (added bool, err error)
	// Decisions lists a request's decisions, oldest first.
	Decisions(ctx context.Context, requestID string) ([]Decision, error)
}

// AuditLog is the append-only audit trail.
type AuditLog interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns events at or after since, oldest first.
	ListAudit(ctx context.Context, since time.Time) ([]AuditEvent, error)
}

// Limiter rations getPackageUri calls (mde.package_uri_limit), in-process or
// across replicas.
type Limiter interface {
	// Take asks for a call slot for key (an action ID). When granted the call
	// is counted and the key leaves the queue; otherwise the key joins (or
	// keeps) its place in the queue and the Slot tells its position and ETA.
	Take(ctx context.Context, key string) (mde.Slot, error)
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
	CollectInvestigationPackage(ctx context.Context, ts mde.TokenSource, machineID, comment string) (*mde.MachineAction, error)
	FindMachine(ctx context.Context, ts mde.TokenSource, query string) ([]mde.Machine, error)
	OpenPackage(ctx context.Context, u mde.PackageURL) (*mde.Package, error)
}

// Identity is the delegated-identity service (package identity).
type Identity interface {
	// Token gives the user's delegated access token silently; it fails with
	// identity.ErrNotLinked when the user must link again.
	Token(ctx context.Context, team, user string) (string, error)
	// StartLogin begins linking the user (flow per identity.flow).
	StartLogin(ctx context.Context, team, user string) (*identity.Prompt, error)
	// CompleteLogin redeems an auth-code callback. Failures for a known user
	// come as *identity.LinkError.
	CompleteLogin(ctx context.Context, state, code string) (*identity.Link, error)
	// Linked returns the user's link, or identity.ErrNotLinked.
	Linked(ctx context.Context, team, user string) (*identity.Link, error)
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
