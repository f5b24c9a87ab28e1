package evidence

import (
	"encoding/json"
	"fmt"
	"time"
)

// CustodyVersion is the custody record format written by this code.
const CustodyVersion = 1

// Custody is the chain-of-custody record kept beside a package, as JSON. The
// caller fills in who asked for what (request, action, machine, people,
// Defender's times); Put fills in RequestID, ReceivedAt when zero, StoredAt,
// Size and SHA256; Record, Link, the download handler, Verify, export and
// Purge append Accesses. Nothing in it is a secret: links are recorded, their
// tokens and signatures never are.
type Custody struct {
	Version     int    `json:"version"`
	RequestID   string `json:"request_id"`
	ActionID    string `json:"action_id,omitempty"`
	MachineID   string `json:"machine_id,omitempty"`
	MachineName string `json:"machine_name,omitempty"`
	Requester   Person `json:"requester"`
	// Approvers are the decisions recorded on the request, in order.
	Approvers []Approval `json:"approvers,omitempty"`
	Comment   string     `json:"comment,omitempty"`
	// ActionCreated and ActionUpdated are Defender's times of the machine action.
	ActionCreated time.Time `json:"defender_action_created,omitzero"`
	ActionUpdated time.Time `json:"defender_action_updated,omitzero"`
	// FileName is the name offered to downloaders (sanitised by DownloadName);
	// empty gives investigation-package-<request id>.zip.
	FileName string `json:"file_name,omitempty"`
	// SourcePath is the path on the device of a file fetched with live
	// response GetFile (its .gz is what is kept); empty for packages.
	SourcePath string `json:"source_path,omitempty"`
	// ReceivedAt is when the download from Defender began; StoredAt when the
	// package was committed to the store.
	ReceivedAt time.Time `json:"received_at"`
	StoredAt   time.Time `json:"stored_at,omitzero"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	// Accesses is every later use of the package, oldest first.
	Accesses []Access `json:"accesses"`
	// PurgedAt is when the package was deleted; zero while it is kept.
	PurgedAt time.Time `json:"purged_at,omitzero"`
}

// Person is someone named in a custody record.
type Person struct {
	SlackID string `json:"slack_id,omitempty"`
	// UPN is the Microsoft account (user principal name) the request ran as.
	UPN string `json:"upn,omitempty"`
}

// Approval is one approver's decision on the request.
type Approval struct {
	SlackID  string    `json:"slack_id"`
	Decision string    `json:"decision"` // "approved" or "denied"
	At       time.Time `json:"at"`
}

// AccessKind says what was done with a stored package.
type AccessKind string

// The access kinds of a custody record.
const (
	AccessLinkIssued AccessKind = "link_issued"
	AccessDownloaded AccessKind = "downloaded"
	AccessExported   AccessKind = "exported"
	AccessPurged     AccessKind = "purged"
	AccessVerified   AccessKind = "verified"
	// AccessTriaged: the bot read the package for its triage summary (the
	// detail is the summary as posted, in plain words).
	AccessTriaged AccessKind = "triaged"
	// AccessSearched: someone searched the package's text (the detail
	// names the term and the count, never the matching lines).
	AccessSearched AccessKind = "searched"
)

// Access is one use of a stored package: who (a Slack user id, or
// cli:<os user> for the command line), when, and details in plain words.
type Access struct {
	Kind   AccessKind `json:"kind"`
	Actor  string     `json:"actor"`
	At     time.Time  `json:"at"`
	Detail string     `json:"detail,omitempty"`
}

// Purged reports whether the package has been deleted.
func (c Custody) Purged() bool { return !c.PurgedAt.IsZero() }

// EncodeCustody is a record's stored form, for every store and export:
// indented, so a case file reads well.
func EncodeCustody(c Custody) ([]byte, error) {
	if c.Accesses == nil {
		c.Accesses = []Access{}
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("evidence: custody record of %s: %w", c.RequestID, err)
	}
	return append(b, '\n'), nil
}

// DecodeCustody reads the record stored under id, refusing one that names
// another request (a record copied to the wrong name is not this package's
// custody).
func DecodeCustody(id string, b []byte) (Custody, error) {
	var c Custody
	if err := json.Unmarshal(b, &c); err != nil {
		return Custody{}, fmt.Errorf("evidence: custody record of %s is not valid JSON: %w", id, err)
	}
	if c.RequestID != id {
		return Custody{}, fmt.Errorf("evidence: custody record stored as %s names request %q", id, c.RequestID)
	}
	return c, nil
}

// Seal is c as a store's Put commits it: id, size, SHA-256, the custody
// version, ReceivedAt (received unless the caller set it) and StoredAt, with
// no accesses and not purged.
func Seal(id string, c Custody, size int64, sum string, received, stored time.Time) Custody {
	c.Version = CustodyVersion
	c.RequestID = id
	if c.ReceivedAt.IsZero() {
		c.ReceivedAt = received
	}
	c.StoredAt = stored
	c.Size = size
	c.SHA256 = sum
	c.Accesses = []Access{}
	c.PurgedAt = time.Time{}
	return c
}

// CompleteAccess checks a's kind and stamps it with the clock's time (nil:
// time.Now) when it has none, in UTC; a store's Record calls it first.
func CompleteAccess(a *Access, clock func() time.Time) error {
	switch a.Kind {
	case AccessLinkIssued, AccessDownloaded, AccessExported, AccessPurged, AccessVerified, AccessTriaged, AccessSearched:
	default:
		return fmt.Errorf("evidence: unknown access kind %q", a.Kind)
	}
	if a.At.IsZero() {
		a.At = now(clock)
	}
	a.At = a.At.UTC()
	return nil
}

// MarkPurged sets PurgedAt (once) and appends the purge access; false when
// c was already purged (nothing to write).
func MarkPurged(c *Custody, at time.Time) bool {
	if c.Purged() {
		return false
	}
	c.PurgedAt = at.UTC()
	c.Accesses = append(c.Accesses, Access{Kind: AccessPurged, Actor: "mdebot", At: at.UTC(), Detail: "package deleted"})
	return true
}
