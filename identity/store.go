package identity

import (
	"context"
	"time"
)

// Store persists links, sealed token caches and pending sign-in states.
// *store.DB implements it (store/identity.go) on SQLite and PostgreSQL.
type Store interface {
	// LoadTokenCache returns the user's sealed MSAL cache, or (nil, nil) when none.
	LoadTokenCache(ctx context.Context, team, user string) ([]byte, error)
	// SaveTokenCache creates or replaces the user's sealed MSAL cache.
	SaveTokenCache(ctx context.Context, team, user string, sealed []byte) error
	// SaveLink creates or replaces the user's link.
	SaveLink(ctx context.Context, l Link) error
	// LoadLink returns the user's link, or (nil, nil) when none.
	LoadLink(ctx context.Context, team, user string) (*Link, error)
	// DeleteLink deletes the link AND the token cache.
	DeleteLink(ctx context.Context, team, user string) error
	// SaveLoginState stores a pending auth-code sign-in.
	SaveLoginState(ctx context.Context, st LoginState) error
	// PeekLoginState returns the state without taking it, or (nil, nil) when unknown.
	PeekLoginState(ctx context.Context, id string) (*LoginState, error)
	// TakeLoginState deletes and returns the state (single use), or (nil, nil)
	// when unknown or already taken.
	TakeLoginState(ctx context.Context, id string) (*LoginState, error)
}

// LoginState is a pending auth-code sign-in, bound to one Slack user.
type LoginState struct {
	// ID is the SHA-256 (hex) of the state value; the state itself is never stored.
	ID   string
	Team string
	User string
	// Sealed is the PKCE verifier, AES-GCM sealed with AAD team:user.
	Sealed    []byte
	ExpiresAt time.Time
}
