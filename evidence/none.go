package evidence

import (
	"context"
	"fmt"
	"io"
	"time"
)

// None keeps nothing. Put still reads the whole body through SHA-256 and a
// byte counter, so a caller runs the same code whatever the store, and gets
// the hash and size for its audit trail; everything that needs a kept
// package returns ErrNotKept.
type None struct {
	clock func() time.Time
}

// NewNone returns the store that keeps nothing (clock nil: time.Now).
func NewNone(clock func() time.Time) *None { return &None{clock: clock} }

// Kind is KindNone.
func (n *None) Kind() string { return KindNone }

// Put hashes and discards body; the record it returns is kept nowhere.
func (n *None) Put(ctx context.Context, id string, body io.Reader, c Custody) (Custody, error) {
	if err := ValidID(id); err != nil {
		return Custody{}, err
	}
	received := now(n.clock)
	sum, size, err := hashAll(ctx, body)
	if err != nil {
		return Custody{}, fmt.Errorf("evidence: read %s: after %d bytes: %w", id, size, err)
	}
	c = Seal(id, c, size, sum, received, time.Time{})
	return c, nil
}

// Open returns ErrNotKept.
func (n *None) Open(context.Context, string) (*Package, error) { return nil, ErrNotKept }

// Custody returns ErrNotKept.
func (n *None) Custody(context.Context, string) (Custody, error) { return Custody{}, ErrNotKept }

// Record returns ErrNotKept.
func (n *None) Record(context.Context, string, Access) error { return ErrNotKept }

// Link returns ErrNotKept.
func (n *None) Link(context.Context, string, time.Duration, string) (Link, error) {
	return Link{}, ErrNotKept
}

// Purge returns ErrNotKept.
func (n *None) Purge(context.Context, string, time.Time) error { return ErrNotKept }

// List returns no records.
func (n *None) List(context.Context) ([]Custody, error) { return nil, nil }

// Close does nothing.
func (n *None) Close() error { return nil }
