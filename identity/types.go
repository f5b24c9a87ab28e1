// Package identity links each Slack user to their own Entra ID account and
// obtains delegated tokens for them with MSAL Go. It never imports slack-go:
// what it needs from Slack (a user's profile email) comes through EmailLookup.
package identity

import (
	"context"

	"github.com/mdebot/mdebot/identity/account"
)

// The link types and sentinels live in package account, so that the use
// cases (handlers) can use them without linking MSAL Go.
const (
	FlowAuthCode   = account.FlowAuthCode
	FlowDeviceCode = account.FlowDeviceCode
)

var (
	ErrNotLinked     = account.ErrNotLinked
	ErrBadState      = account.ErrBadState
	ErrWrongTenant   = account.ErrWrongTenant
	ErrEmailMismatch = account.ErrEmailMismatch
	ErrExpired       = account.ErrExpired
	ErrSuperseded    = account.ErrSuperseded
	ErrInterrupted   = account.ErrInterrupted
	ErrBusy          = account.ErrBusy
)

type (
	LinkError = account.LinkError
	Link      = account.Link
	Prompt    = account.Prompt
	Pending   = account.Pending
)

// EmailLookup gives a chat user's profile email (Slack users.info).
type EmailLookup interface {
	UserEmail(ctx context.Context, team, user string) (string, error)
}
