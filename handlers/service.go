package handlers

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/triage"
)

// Store is everything handlers persists.
type Store interface {
	RequestStore
	ApprovalStore
	AuditLog
}

// Options wires a Service. Every interface field is required except Metrics.
type Options struct {
	Store Store
	// Limiter rations getPackageUri; LiveLimiter rations runliveresponse
	// (nil: an in-process limiter of Defender's 10 a minute).
	Limiter     Limiter
	LiveLimiter Limiter
	Defender    Defender
	Identity    Identity
	Messenger   Messenger
	Directory   Directory
	Jobs        Jobs
	Metrics     Metrics
	// Evidence keeps delivered packages; nil passes Defender's link through.
	Evidence Evidence
	Policy   Policy
	Logger   *slog.Logger

	// Command is the slash command as users type it (slack.command).
	Command string
	// PollInterval and WaitTimeout are mde.poll_interval and mde.wait_timeout.
	PollInterval time.Duration
	WaitTimeout  time.Duration
	// MaxPackageSize is mde.max_package_size: larger packages go out as a link.
	MaxPackageSize int64
	// LinksPerMinute is mde.package_uri_limit.per_minute, for what people are told.
	LinksPerMinute int
	// SessionsPerMinute is mde.live_response_limit.per_minute, for what people are told.
	SessionsPerMinute int

	// LinkReuse is how long an obtained package link is reused for requests
	// that became ready meanwhile (default 30s; the link is short-lived).
	LinkReuse time.Duration
	// LeaseTTL bounds how long a dead replica's claim blocks a delivery (default 60s).
	LeaseTTL time.Duration
	// ConfirmTTL is how long a collect confirmation waits for a click (default 15m).
	ConfirmTTL time.Duration
	// LinkTTL is how long a download link to a stored package lives
	// (evidence.link_ttl, default 10m).
	LinkTTL time.Duration
	// Retention deletes stored packages this old (evidence.retention; 0 keeps them).
	Retention time.Duration
	// PurgeEvery spaces the sweep's retention passes (default 10m).
	PurgeEvery time.Duration
	// RequestRetention and AuditRetention delete ended requests and audit
	// events this old (store.request_retention, store.audit_retention; 0 keeps).
	RequestRetention, AuditRetention time.Duration
	// MaxPendingPerUser refuses a user's request beyond this many not yet
	// ended (policy.max_pending_per_user; 0 means no limit).
	MaxPendingPerUser int
	// Home, when set, turns App Home on (slack.features app_home): the tab
	// is published on app_home_opened and refreshed when what it shows
	// changes, at most once per HomeEvery per user (default 5s) and
	// HomeSpacing apart across users (default 700ms: Slack allows views.publish
	// about 100 times a minute).
	Home                   HomePublisher
	HomeEvery, HomeSpacing time.Duration
	// Steps and Functions, when both set, turn the Workflow Builder step on
	// (slack.features workflow_step).
	Steps     StepStore
	Functions Functions
	// Shortcut turns the message shortcut on (slack.features message_shortcut).
	Shortcut bool
	// Triage bounds what the triage summary and search read from a stored
	// package (triage.max_entries, triage.max_uncompressed; zero fields
	// take triage's defaults).
	Triage triage.Limits
	// SpoolDir holds packages served without Content-Length while they are
	// spooled for upload (default os.TempDir()).
	SpoolDir string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service runs mdebot's use cases.
type Service struct {
	opt Options
	log *slog.Logger
	// lastPurge is when the last retention pass began (unix ns).
	lastPurge atomic.Int64
	// links are the package links obtained moments ago (memory only).
	links links
	// home republishes Home tabs (nil when App Home is off).
	home *homeRefresher
}

// New checks opt and returns a Service.
func New(opt Options) (*Service, error) {
	if opt.Store == nil || opt.Limiter == nil || opt.Defender == nil || opt.Identity == nil ||
		opt.Messenger == nil || opt.Directory == nil || opt.Jobs == nil {
		return nil, errors.New("handlers: Store, Limiter, Defender, Identity, Messenger, Directory and Jobs are required")
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Metrics == nil {
		opt.Metrics = nopMetrics{}
	}
	if opt.Command == "" {
		opt.Command = "/mde-package"
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 15 * time.Second
	}
	if opt.WaitTimeout <= 0 {
		opt.WaitTimeout = time.Hour
	}
	if opt.MaxPackageSize <= 0 {
		opt.MaxPackageSize = 1 << 30
	}
	if opt.LinksPerMinute <= 0 {
		opt.LinksPerMinute = 2
	}
	if opt.SessionsPerMinute <= 0 {
		opt.SessionsPerMinute = mde.DefaultLiveResponseLimits().PerMinute
	}
	if opt.LinkReuse <= 0 {
		opt.LinkReuse = 30 * time.Second
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = 60 * time.Second
	}
	if opt.ConfirmTTL <= 0 {
		opt.ConfirmTTL = 15 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.LiveLimiter == nil {
		opt.LiveLimiter = mde.NewMemoryLimiter(mde.DefaultLiveResponseLimits(), opt.Now)
	}
	if opt.LinkTTL <= 0 {
		opt.LinkTTL = 10 * time.Minute
	}
	if opt.PurgeEvery <= 0 {
		opt.PurgeEvery = 10 * time.Minute
	}
	if opt.HomeEvery <= 0 {
		opt.HomeEvery = 5 * time.Second
	}
	if opt.HomeSpacing <= 0 {
		opt.HomeSpacing = 700 * time.Millisecond
	}
	s := &Service{opt: opt, log: opt.Logger}
	if opt.Home != nil {
		s.home = newHomeRefresher(opt.HomeEvery, opt.HomeSpacing, opt.Logger.With("part", "home"), s.publishHome, opt.Directory.GroupMembers)
	}
	return s, nil
}

// Close stops the background work the service runs itself (Home tab
// refreshes), waiting for what is under way. Jobs are the queue's.
func (s *Service) Close() {
	if s.home != nil {
		s.home.close()
	}
}

func (s *Service) now() time.Time { return s.opt.Now().UTC() }

type nopMetrics struct{}

func (nopMetrics) Command(string, string)         {}
func (nopMetrics) Delivery(string, string, int64) {}
func (nopMetrics) LimiterQueue(int)               {}
func (nopMetrics) LimiterWait(time.Duration)      {}
func (nopMetrics) ApprovalsPending(int)           {}
func (nopMetrics) JobFailure(string)              {}
