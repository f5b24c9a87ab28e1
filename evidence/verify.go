package evidence

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Status is a package's state found by Verify.
type Status string

// Verify's verdicts.
const (
	StatusOK       Status = "ok"
	StatusMismatch Status = "mismatch" // bytes differ from the custody record
	StatusMissing  Status = "missing"  // record kept, package gone (not purged)
	StatusPurged   Status = "purged"   // deleted on purpose; not a failure
)

// Check is Verify's verdict on one package.
type Check struct {
	RequestID string
	Status    Status
	// Size and SHA256 are the custody record's; GotSize and GotSHA256 what
	// was read back (ok and mismatch only).
	Size      int64
	SHA256    string
	GotSize   int64
	GotSHA256 string
	PurgedAt  time.Time
	// Detail says what differs, in plain words.
	Detail string
}

// Failed reports a mismatch or a missing package.
func (c Check) Failed() bool { return c.Status == StatusMismatch || c.Status == StatusMissing }

// String is the check's one line, as mdebot evidence verify prints it.
func (c Check) String() string {
	switch c.Status {
	case StatusOK:
		return fmt.Sprintf("ok       %s  %d bytes  sha256 %s", c.RequestID, c.Size, c.SHA256)
	case StatusPurged:
		return fmt.Sprintf("purged   %s  at %s", c.RequestID, c.PurgedAt.UTC().Format(time.RFC3339))
	case StatusMissing:
		return fmt.Sprintf("MISSING  %s  %s", c.RequestID, c.Detail)
	}
	return fmt.Sprintf("MISMATCH %s  %s", c.RequestID, c.Detail)
}

// Verify re-reads every stored package and compares its SHA-256 and size
// with its custody record (and, where the store keeps one, the second copy
// of the hash), recording a verified access on each record by actor. It
// stops only when the store itself fails.
func Verify(ctx context.Context, s Store, actor string) ([]Check, error) {
	records, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	checks := make([]Check, 0, len(records))
	for _, c := range records {
		ch, err := verifyOne(ctx, s, c)
		if err != nil {
			return checks, err
		}
		checks = append(checks, ch)
		if ch.Status == StatusPurged {
			continue
		}
		detail := string(ch.Status)
		if ch.Detail != "" {
			detail += ": " + ch.Detail
		}
		if err := s.Record(ctx, c.RequestID, Access{Kind: AccessVerified, Actor: actor, Detail: detail}); err != nil {
			return checks, err
		}
	}
	return checks, nil
}

func verifyOne(ctx context.Context, s Store, c Custody) (Check, error) {
	ch := Check{RequestID: c.RequestID, Size: c.Size, SHA256: c.SHA256, PurgedAt: c.PurgedAt}
	if c.Purged() {
		ch.Status = StatusPurged
		return ch, nil
	}
	p, err := s.Open(ctx, c.RequestID)
	var purged *PurgedError
	switch {
	case errors.Is(err, ErrMissing):
		ch.Status, ch.Detail = StatusMissing, "the package is gone but its custody record says it is kept"
		return ch, nil
	case errors.As(err, &purged): // purged since List
		ch.Status, ch.PurgedAt = StatusPurged, purged.At
		return ch, nil
	case err != nil:
		return ch, err
	}
	defer p.Close()
	r, err := p.Reader()
	if err != nil {
		return ch, err
	}
	defer r.Close()
	if ch.GotSHA256, ch.GotSize, err = hashAll(ctx, r); err != nil {
		return ch, fmt.Errorf("evidence: verify %s: %w", c.RequestID, err)
	}
	ch.Status = StatusMismatch
	switch {
	case ch.GotSize != c.Size:
		ch.Detail = fmt.Sprintf("%d bytes stored, the custody record says %d", ch.GotSize, c.Size)
	case ch.GotSHA256 != c.SHA256:
		ch.Detail = fmt.Sprintf("sha256 of the stored bytes is %s, the custody record says %s", ch.GotSHA256, c.SHA256)
	case p.metaSHA256 != "" && p.metaSHA256 != c.SHA256:
		ch.Detail = fmt.Sprintf("the blob's metadata says sha256 %s, the custody record says %s", p.metaSHA256, c.SHA256)
	default:
		ch.Status = StatusOK
	}
	return ch, nil
}
