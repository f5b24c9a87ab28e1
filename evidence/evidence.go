// Package evidence keeps every delivered package with its chain-of-custody
// record, so that a Download click never needs Defender again: in a local
// folder (file), in Azure Blob Storage (azure_blob, package
// evidence/azureblob, kept apart so that importing this package links no
// Azure SDK), or nowhere (none, where Defender's short-lived link is passed
// through).
//
// A package is streamed in once, hashed (SHA-256) on the way, and never held
// whole in memory. Its name in the store comes from the request id alone,
// never from Defender's answer or the zip's content. The custody record is
// the commit point: a package without one is invisible, so an interrupted
// Put leaves nothing behind that anyone can open.
package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"
)

// Stored names: a request's package is <id>.package and its custody record
// <id>.custody.json, in a file store's folder and an azure_blob container
// alike (and an export's record). Only ids that pass ValidID reach them.
const (
	PackageSuffix = ".package"
	CustodySuffix = ".custody.json"
)

// Store kinds, as evidence.store spells them.
const (
	KindFile      = "file"
	KindAzureBlob = "azure_blob"
	KindNone      = "none"
)

// Errors callers tell apart with errors.Is (PurgedError with errors.As).
var (
	// ErrNotKept: the store is none; nothing can be opened or linked.
	ErrNotKept = errors.New("evidence: packages are not kept (evidence.store is none)")
	// ErrNotFound: no package was ever stored for this request.
	ErrNotFound = errors.New("evidence: no package is stored for this request")
	// ErrMissing: the custody record exists but the package is gone (not purged).
	ErrMissing = errors.New("evidence: the package is missing from the store although its custody record exists")
	// ErrExists: Put refuses to replace a stored package (chain of custody).
	ErrExists = errors.New("evidence: a package is already stored for this request")
	// ErrBusy: another Put of this id is running (azure_blob; retry later).
	ErrBusy = errors.New("evidence: another upload of this request is in progress, or one was interrupted less than a minute ago")
	// ErrNoPublicURL: the file store cannot make a download link without
	// http.public_url; send the package another way (a DM upload).
	ErrNoPublicURL = errors.New("evidence: http.public_url is not set, so the file store cannot issue download links")
	// ErrInvalidID: the request id is not 1 to 64 ASCII letters and digits.
	ErrInvalidID = errors.New("evidence: request id must be 1 to 64 ASCII letters and digits")
)

// PurgedError says the package was deleted at At (retention); its custody
// record is kept.
type PurgedError struct {
	ID string
	At time.Time
}

func (e *PurgedError) Error() string {
	return fmt.Sprintf("evidence: the package of request %s was purged at %s", e.ID, e.At.UTC().Format(time.RFC3339))
}

// Store keeps packages and their custody records. Every method validates the
// id first (ErrInvalidID, nothing touched).
type Store interface {
	// Kind is KindFile, KindAzureBlob or KindNone.
	Kind() string
	// Put streams body once into the store as request id's package, hashing
	// it, then writes c as its custody record (RequestID, size, SHA-256 and
	// times filled in) and returns that record. It refuses with ErrExists
	// when id already has a record; when body or ctx fails midway nothing
	// becomes visible and a later Put may try again.
	Put(ctx context.Context, id string, body io.Reader, c Custody) (Custody, error)
	// Open gives random and sequential access to the package; reads use ctx.
	// ErrNotFound, ErrMissing or *PurgedError when it cannot be read.
	Open(ctx context.Context, id string) (*Package, error)
	// Custody returns the custody record (also after a purge).
	Custody(ctx context.Context, id string) (Custody, error)
	// Record appends an access to the custody record; concurrent calls are
	// all kept.
	Record(ctx context.Context, id string, a Access) error
	// Link issues a fresh URL to the package valid for ttl, recorded as a
	// link_issued access by actor. The URL is a credential: never log it.
	Link(ctx context.Context, id string, ttl time.Duration, actor string) (Link, error)
	// Purge deletes the package and marks its custody record purged at at;
	// purging again changes nothing. ErrNotFound without a record.
	Purge(ctx context.Context, id string, at time.Time) error
	// List returns every custody record, purged ones included, oldest first.
	List(ctx context.Context) ([]Custody, error)
	// Close releases what the store holds open.
	Close() error
}

// Link is a download URL and its expiry. String and LogValue hide the query
// (the token or SAS signature), so a Link that reaches a log leaks nothing.
type Link struct {
	URL       string
	ExpiresAt time.Time
}

func (l Link) String() string { return redactQuery(l.URL) }

var idRE = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

// ValidID returns ErrInvalidID unless id can name a package: store names are
// derived from it, so it must never hold a separator, a dot or a space.
func ValidID(id string) error {
	if !idRE.MatchString(id) {
		return ErrInvalidID
	}
	return nil
}

// now returns the clock's time, time.Now when nil, in UTC.
func now(clock func() time.Time) time.Time {
	if clock == nil {
		return time.Now().UTC()
	}
	return clock().UTC()
}
