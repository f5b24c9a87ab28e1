// Package mde is a client for the Microsoft Defender for Endpoint API calls
// mdebot needs. It knows HTTP and Defender, nothing of Slack or MSAL: the
// caller passes the requester's bearer token source on every call.
package mde

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// TokenSource gives the bearer token of the person a call is made for.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context) (string, error)

// Token calls f.
func (f TokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// Action statuses as Defender spells them.
const (
	StatusPending    = "Pending"
	StatusInProgress = "InProgress"
	StatusSucceeded  = "Succeeded"
	StatusFailed     = "Failed"
	StatusTimeOut    = "TimeOut"
	StatusCancelled  = "Cancelled"
)

// Action types mdebot starts.
const (
	// TypeCollectInvestigationPackage is the only action type that has a package.
	TypeCollectInvestigationPackage = "CollectInvestigationPackage"
	// TypeLiveResponse is a runliveresponse session; its Commands carry each command's status.
	TypeLiveResponse = "LiveResponse"
)

// MachineAction is Defender's machineAction entity (the fields mdebot reads).
type MachineAction struct {
	ID                      string     `json:"id"`
	Type                    string     `json:"type"`
	Scope                   string     `json:"scope,omitempty"`
	Requestor               string     `json:"requestor"`
	RequestorComment        string     `json:"requestorComment"`
	RequestSource           string     `json:"requestSource,omitempty"`
	Status                  string     `json:"status"`
	MachineID               string     `json:"machineId"`
	ComputerDNSName         string     `json:"computerDnsName"`
	CreationDateTimeUtc     time.Time  `json:"creationDateTimeUtc"`
	LastUpdateDateTimeUtc   time.Time  `json:"lastUpdateDateTimeUtc"`
	CancellationRequestor   string     `json:"cancellationRequestor,omitempty"`
	CancellationComment     string     `json:"cancellationComment,omitempty"`
	CancellationDateTimeUtc *time.Time `json:"cancellationDateTimeUtc,omitempty"`
	Title                   string     `json:"title,omitempty"`
	ErrorHResult            int64      `json:"errorHResult,omitempty"`
	TroubleshootInfo        string     `json:"troubleshootInfo,omitempty"`
	// Commands are a LiveResponse action's commands, each with its own status
	// (absent for other types).
	Commands []LiveResponseCommand `json:"commands,omitempty"`
}

// Terminal reports whether the action's status is final.
func (a *MachineAction) Terminal() bool {
	switch a.Status {
	case StatusSucceeded, StatusFailed, StatusTimeOut, StatusCancelled:
		return true
	}
	return false
}

// Machine is Defender's machine entity (the fields mdebot shows).
type Machine struct {
	ID               string    `json:"id"`
	ComputerDNSName  string    `json:"computerDnsName"`
	OSPlatform       string    `json:"osPlatform"`
	OSVersion        string    `json:"osVersion,omitempty"`
	LastSeen         time.Time `json:"lastSeen"`
	HealthStatus     string    `json:"healthStatus"`
	RiskScore        string    `json:"riskScore,omitempty"`
	ExposureLevel    string    `json:"exposureLevel,omitempty"`
	LastIPAddress    string    `json:"lastIpAddress,omitempty"`
	MachineTags      []string  `json:"machineTags,omitempty"`
	OnboardingStatus string    `json:"onboardingStatus,omitempty"`
}

// ErrorKind is the class of a Defender failure a caller can branch on.
type ErrorKind string

const (
	KindNotReady        ErrorKind = "not_ready"        // 404 from getPackageUri: the action is not complete
	KindNotFound        ErrorKind = "not_found"        // 404 elsewhere
	KindForbidden       ErrorKind = "forbidden"        // 403: missing MDE role or device-group access
	KindUnauthorized    ErrorKind = "unauthorized"     // 401: token rejected
	KindAlreadyRunning  ErrorKind = "already_running"  // 400 ActiveRequestAlreadyExists
	KindRateLimited     ErrorKind = "rate_limited"     // 429; RetryAfter set
	KindBadRequest      ErrorKind = "bad_request"      // other 4xx
	KindServer          ErrorKind = "server"           // 5xx or transport failure after retries
	KindInvalidResponse ErrorKind = "invalid_response" // unparsable or unexpected body
	KindInvalidInput    ErrorKind = "invalid_input"    // an identifier failed validation; no request was made
	KindRefusedURL      ErrorKind = "refused_url"      // package URL not https or host not allowed; never fetched
	KindTooLarge        ErrorKind = "too_large"        // package larger than the maximum
	KindSessionOpen     ErrorKind = "session_open"     // 400 ActiveRequestAlreadyExists from runliveresponse: a live response session is already open on the device
	KindLinkExpired     ErrorKind = "link_expired"     // 403 AuthenticationFailed from blob storage: the result link expired; ask for a new one once
)

// Error is a Defender failure. Message and CorrelationID are Defender's own and
// may be shown to the user.
type Error struct {
	Kind          ErrorKind
	Endpoint      string // e.g. "getPackageUri"
	HTTPStatus    int
	Code          string // Defender's error.code
	Message       string // Defender's error.message (or ours for local kinds)
	CorrelationID string // Defender's error.target
	RetryAfter    time.Duration
}

func (e *Error) Error() string {
	s := fmt.Sprintf("mde %s: %s", e.Endpoint, e.Kind)
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (HTTP %d", e.HTTPStatus)
		if e.Code != "" {
			s += " " + e.Code
		}
		s += ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.CorrelationID != "" {
		s += " [correlation " + e.CorrelationID + "]"
	}
	return s
}

// PackageURL is a download link: an investigation package's, or a live
// response result's (see ResultURL). Its query string is a bearer
// credential: String, LogValue and fmt print it redacted; only Reveal gives
// the full link, for the moment of delivery.
type PackageURL struct {
	u *url.URL
}

// NewPackageURL wraps an already validated URL.
func NewPackageURL(u *url.URL) PackageURL { return PackageURL{u: u} }

// IsZero reports whether p holds no URL.
func (p PackageURL) IsZero() bool { return p.u == nil }

// Reveal returns the full link, credential included. Never log or store it.
func (p PackageURL) Reveal() string {
	if p.u == nil {
		return ""
	}
	return p.u.String()
}

// Host returns the link's host.
func (p PackageURL) Host() string {
	if p.u == nil {
		return ""
	}
	return p.u.Host
}

// String returns the link without its query string.
func (p PackageURL) String() string {
	if p.u == nil {
		return ""
	}
	r := *p.u
	if r.RawQuery != "" {
		r.RawQuery = "REDACTED"
	}
	r.Fragment = ""
	r.User = nil
	return r.String()
}

// LogValue keeps the credential out of slog output.
func (p PackageURL) LogValue() slog.Value { return slog.StringValue(p.String()) }

// GoString keeps the credential out of %#v.
func (p PackageURL) GoString() string { return "mde.PackageURL(" + p.String() + ")" }

// ResultURL is a live response result link (a SAS URL on blob storage): the
// same credential-bearing type as a package link, opened with OpenPackage.
type ResultURL = PackageURL

// Limits are a Defender call budget (getPackageUri, runliveresponse), per
// app and tenant; a zero field means no limit on that window.
type Limits struct {
	PerMinute int
	PerHour   int
}

// DefaultPackageURILimits is getPackageUri's documented budget: 2/min, 120/h.
func DefaultPackageURILimits() Limits { return Limits{PerMinute: 2, PerHour: 120} }

// DefaultLiveResponseLimits is runliveresponse's budget: Defender documents
// 10/min; 600/h is the same rate over the hour (config's default).
func DefaultLiveResponseLimits() Limits { return Limits{PerMinute: 10, PerHour: 600} }

// Budget names: each is rationed on its own, with its own queue.
const (
	// BudgetPackageURI is getPackageUri (2/min, 120/h).
	BudgetPackageURI = "getPackageUri"
	// BudgetLiveResponse is runliveresponse (10/min).
	BudgetLiveResponse = "runliveresponse"
)

// Slot is a limiter's answer to one ask for a call of a budget.
type Slot struct {
	// Granted: the caller may call now; the call has been counted.
	Granted bool
	// Position is the caller's 1-based place among those waiting (0 when granted).
	Position int
	// Wait is how long until the caller is expected to be granted (its ETA).
	Wait time.Duration
}
