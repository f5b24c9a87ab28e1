package handlers

import (
	"errors"
	"log/slog"
	"time"
)

// Store is everything handlers persists.
type Store interface {
	RequestStore
	ApprovalStore
	AuditLog
}

// Options wires a Service. Every interface field is required except Metrics.
type Options struct {
	Store     Store
	Limiter   Limiter
	Defender  Defender
	Identity  Identity
	Messenger Messenger
	Directory Directory
	Jobs      Jobs
	Metrics   Metrics
	Policy    Policy
	Logger    *slog.Logger

	// Command is the slash command as users type it (slack.command).
	Command string
	// PollInterval and WaitTimeout are mde.poll_interval and mde.wait_timeout.
	PollInterval time.Duration
	WaitTimeout  time.Duration
	// MaxPackageSize is mde.max_package_size: larger packages go out as a link.
	MaxPackageSize int64
	// LinksPerMinute is mde.package_uri_limit.per_minute, for what people are told.
	LinksPerMinute int

	// FetchGather is how long a fresh fetch waits for concurrent asks of the
	// same action, so they share one getPackageUri call (default 1s).
	FetchGather time.Duration
	// LinkReuse is how long an obtained package link is reused for requests
	// that became ready meanwhile (default 30s; the link is short-lived).
	LinkReuse time.Duration
	// LeaseTTL bounds how long a dead replica's claim blocks a delivery (default 60s).
	LeaseTTL time.Duration
	// ConfirmTTL is how long a collect confirmation waits for a click (default 15m).
	ConfirmTTL time.Duration
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
	if opt.FetchGather <= 0 {
		opt.FetchGather = time.Second
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
	return &Service{opt: opt, log: opt.Logger}, nil
}

func (s *Service) now() time.Time { return s.opt.Now().UTC() }

type nopMetrics struct{}

func (nopMetrics) Command(string, string)         {}
func (nopMetrics) Delivery(string, string, int64) {}
func (nopMetrics) LimiterQueue(int)               {}
func (nopMetrics) LimiterWait(time.Duration)      {}
func (nopMetrics) ApprovalsPending(int)           {}
func (nopMetrics) JobFailure(string)              {}
