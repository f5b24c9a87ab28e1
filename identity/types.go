// Package identity links each Slack user to their own Entra ID account and
// obtains delegated tokens for them with MSAL Go. It never imports slack-go:
// what it needs from Slack (a user's profile email) comes through EmailLookup.
package identity

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
)

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
	// expired or ctx ended, then returns the stored link. Nil for auth_code,
	// which completes through CompleteLogin on /auth/callback.
	Wait func(ctx context.Context) (*Link, error)
}

// EmailLookup gives a chat user's profile email (Slack users.info).
type EmailLookup interface {
	UserEmail(ctx context.Context, team, user string) (string, error)
}
