package identity

import (
	"context"
	"crypto/cipher"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// cacheIOTimeout bounds a cache load or save whose context has no deadline
// (cache.ExportReplace asks implementors to set one).
const cacheIOTimeout = 15 * time.Second

// userCache is one Slack user's MSAL token cache, stored sealed in their own
// row. MSAL's partition-key hints are ignored: the row is the partition.
type userCache struct {
	store      Store
	aead       cipher.AEAD
	team, user string
	// missing: the last Replace found no row (the user must link again).
	// False after a failed load, which is not the user's doing.
	missing atomic.Bool
}

var _ cache.ExportReplace = (*userCache)(nil)

// Replace loads the user's row into MSAL's memory, or empties it when there
// is none, so nothing of an earlier state survives.
func (c *userCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	c.missing.Store(false)
	ctx, cancel := withIOTimeout(ctx)
	defer cancel()
	sealed, err := c.store.LoadTokenCache(ctx, c.team, c.user)
	if err != nil {
		return fmt.Errorf("identity: load token cache: %w", err)
	}
	if sealed == nil {
		c.missing.Store(true)
		// MSAL reads empty input as an empty cache: this forgets whatever
		// the client held before, rather than serving it.
		return u.Unmarshal(nil)
	}
	plain, err := unseal(c.aead, sealed, userAAD(c.team, c.user))
	if err != nil {
		return fmt.Errorf("identity: token cache of %s:%s: %w", c.team, c.user, err)
	}
	return u.Unmarshal(plain)
}

// Export seals MSAL's cache into the user's row.
func (c *userCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	plain, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("identity: marshal token cache: %w", err)
	}
	ctx, cancel := withIOTimeout(ctx)
	defer cancel()
	if err := c.store.SaveTokenCache(ctx, c.team, c.user, seal(c.aead, plain, userAAD(c.team, c.user))); err != nil {
		return fmt.Errorf("identity: save token cache: %w", err)
	}
	return nil
}

// stagedCache holds a sign-in's tokens in memory until the link passes its
// checks: a refused link stores nothing.
type stagedCache struct {
	mu   sync.Mutex
	data []byte
}

var _ cache.ExportReplace = (*stagedCache)(nil)

func (c *stagedCache) Replace(_ context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return u.Unmarshal(c.data) // nil: empty
}

func (c *stagedCache) Export(_ context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	b, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("identity: marshal token cache: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data = b
	return nil
}

func (c *stagedCache) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.data
}

func withIOTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, cacheIOTimeout)
}
