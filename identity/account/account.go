// Package account holds the types of a Slack user's link to a Microsoft
// account and the sentinel errors of linking: what the use cases need to know
// of identity, without linking MSAL Go into them.
package account

import (
	"context"
	"errors"
	"time"
)

// Flows, chosen by identity.flow.
const (
	FlowAuthCode   = "auth_code"
	FlowDeviceCode = "device_code"
)

// Sentinel errors; match them with errors.Is. Their texts are plain words a
// user may read.
var (
	// ErrNotLinked: no usable link (never linked, unlinked, refresh token
	// expired or revoked): the user must run login again.
	ErrNotLinked = errors.New("your Slack account is not linked to a Microsoft account, or the link expired")
	// ErrBadState: the sign-in state is unknown, already used, expired, or another user's.
	ErrBadState = errors.New("this sign-in link is invalid, expired or already used")
	// ErrWrongTenant: the Microsoft account belongs to another tenant.
	ErrWrongTenant = errors.New("the Microsoft account belongs to another tenant")
	// ErrEmailMismatch: the Slack profile email does not match the Microsoft account.
	ErrEmailMismatch = errors.New("the Microsoft account does not match your Slack email")
	// ErrExpired: the device code expired before the user signed in.
	ErrExpired = errors.New("the sign-in code expired before it was used")
	// ErrSuperseded: a newer login of the same user replaced this pending
	// device-code sign-in (the newer one is the one to use).
	ErrSuperseded = errors.New("a newer sign-in replaced this one")
	// ErrInterrupted: the bot stopped while the sign-in was pending.
	ErrInterrupted = errors.New("the sign-in was interrupted because the bot restarted")
	// ErrBusy: too many device-code sign-ins are pending at once.
	ErrBusy = errors.New("too many sign-ins are in progress right now; try again in a few minutes")
)

// Pending is an auth-code sign-in that waits for the person at the browser
// to confirm which Slack user it links (identity.require_email_match off):
// nothing is redeemed or stored before they do.
type Pending struct {
	// Team and User are the Slack workspace and user the sign-in link was made for.
	Team, User string
	// CSRF is the confirmation form's token: bound to the sign-in's state,
	// spent with it, and expiring with it.
	CSRF string
}

// LinkError is a failed link attempt for a known Slack user (the state was
// valid), so the caller can tell that user. Err wraps one of the sentinels
// or an unexpected failure.
type LinkError struct {
	Team string
	User string
	Err  error
}

func (e *LinkError) Error() string { return e.Err.Error() }
func (e *LinkError) Unwrap() error { return e.Err }

// Link is a Slack user's stored link to a Microsoft account.
// Rules: one per (Team, User); TenantID equals identity.tenant_id; it holds no token.
type Link struct {
	Team          string
	User          string
	HomeAccountID string // <oid>.<tid>, the MSAL account key
	Username      string // preferred_username (or email/upn) of the Microsoft account
	TenantID      string
	LinkedAt      time.Time
}

// Prompt is what to show a user who asked to link.
type Prompt struct {
	Flow string
	// URL is the sign-in link (auth_code) or the verification URL (device_code).
	URL string
	// UserCode is the code to type at URL (device_code only).
	UserCode  string
	ExpiresAt time.Time
	// Wait, for device_code, blocks until the user signed in, the code
	// expired, ctx ended, a newer login of the same user replaced this one
	// (ErrSuperseded) or the service closed (ErrInterrupted), then returns
	// the stored link. Nil for auth_code, which completes through
	// CompleteLogin (or ConfirmLogin) on /auth/callback.
	Wait func(ctx context.Context) (*Link, error)
	// Await, for device_code, is Wait in the identity service's own
	// goroutine, outside the caller's worker pool: it returns at once and
	// later calls done with Wait's result and a fresh context of its own
	// (to tell the user). Closing the service waits for done to return.
	// Use Wait or Await, once. Nil for auth_code.
	Await func(done func(ctx context.Context, l *Link, err error))
}
