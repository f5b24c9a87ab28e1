// Package app assembles a running mdebot from a Config: store, queue,
// Defender client, identity, Slack transport and the use cases. cmd/mdebot,
// the demo and end-to-end tests start the bot through it, so they all run the
// same wiring.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mdebot/mdebot/bot"
	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/identity"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/queue"
	"github.com/mdebot/mdebot/store"
	"github.com/mdebot/mdebot/telemetry"
	"github.com/mdebot/mdebot/triage"
)

// Options are what a Config cannot say: test and demo hooks. Zero values
// give the production behaviour.
type Options struct {
	// Logger, when nil, is built from log.level and log.format on LogOutput (default stderr).
	Logger    *slog.Logger
	LogOutput io.Writer
	// EntraClient is the HTTP client MSAL uses (tests: the fake authority's TLS client).
	EntraClient *http.Client
	// Listener, when set, is served instead of listening on http.listen;
	// AdminListener likewise for http.admin_listen (used only when that is set).
	Listener, AdminListener net.Listener
	// Queue tunes the job queue (tests shorten the sweep period).
	Queue queue.Options
	// Tune adjusts the use cases' options before the service is built.
	Tune func(*handlers.Options)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// App is an assembled bot.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	db       *store.DB
	evidence evidence.Store
	queue    *queue.Queue
	svc      *handlers.Service
	ident    *identity.Service
	slack    *bot.Slack
	server   *bot.Server
	metrics  *telemetry.Metrics
	listener net.Listener
	http     *http.Server
	// admin serves /metrics, /healthz and /readyz on http.admin_listen (nil when unset).
	adminListener net.Listener
	admin         *http.Server
}

// New assembles the bot; it opens the database (applying migrations) and
// asks Slack who the bot is, but serves nothing until Run.
func New(ctx context.Context, cfg *config.Config, o Options) (a *App, err error) {
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, fmt.Errorf("invalid configuration:\n%w", ps)
	}
	a = &App{cfg: cfg, metrics: telemetry.NewMetrics()}
	if a.log, err = logger(cfg, o); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if a.db, err = store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN); err != nil {
		return nil, err
	}
	if a.evidence, err = OpenEvidence(ctx, cfg, a.db); err != nil {
		return nil, fmt.Errorf("evidence store: %w", err)
	}
	if a.queue, err = queue.New(a.db, queueOptions(o.Queue, a)); err != nil {
		return nil, err
	}
	if a.slack, err = bot.NewSlack(bot.SlackOptions{BotToken: cfg.Slack.BotToken, AppToken: cfg.Slack.AppToken,
		APIURL: cfg.Slack.APIURL, CallbackHosts: cfg.Slack.CallbackHosts, Logger: a.log.With("component", "slack")}); err != nil {
		return nil, err
	}
	team, teamName, err := a.slack.Team(ctx)
	if err != nil {
		return nil, fmt.Errorf("slack auth.test: %w", err)
	}
	defender, err := defenderClient(cfg, a)
	if err != nil {
		return nil, err
	}
	if a.ident, err = identityService(cfg, o, a); err != nil {
		return nil, err
	}
	hopt := handlers.Options{
		Store: a.db, Limiter: a.db.Limiter(mde.BudgetPackageURI, mde.Limits{PerMinute: cfg.MDE.PackageURILimit.PerMinute, PerHour: cfg.MDE.PackageURILimit.PerHour}, o.Now),
		Defender: defender, Identity: a.ident, Messenger: a.slack, Directory: a.slack, Jobs: a.queue, Metrics: a.metrics,
		Policy: policy(cfg), Logger: a.log.With("component", "handlers"), Command: cfg.Slack.Command,
		PollInterval: cfg.MDE.PollInterval, WaitTimeout: cfg.MDE.WaitTimeout, MaxPackageSize: cfg.MDE.MaxPackageSize, Now: o.Now,
		LinksPerMinute:    cfg.MDE.PackageURILimit.PerMinute,
		LiveLimiter:       a.db.Limiter(mde.BudgetLiveResponse, mde.Limits{PerMinute: cfg.MDE.LiveResponseLimit.PerMinute, PerHour: cfg.MDE.LiveResponseLimit.PerHour}, o.Now),
		SessionsPerMinute: cfg.MDE.LiveResponseLimit.PerMinute,
		Evidence:          a.evidence, LinkTTL: cfg.Evidence.LinkTTL, Retention: cfg.Evidence.Retention,
		RequestRetention: cfg.Store.RequestRetention, AuditRetention: cfg.Store.AuditRetention,
		MaxPendingPerUser: cfg.Policy.MaxPendingPerUser,
		Triage:            triage.Limits{MaxEntries: cfg.Triage.MaxEntries, MaxUncompressed: cfg.Triage.MaxUncompressed},
	}
	if err := surfaces(cfg, a, &hopt); err != nil {
		return nil, err
	}
	if o.Tune != nil {
		o.Tune(&hopt)
	}
	if a.svc, err = handlers.New(hopt); err != nil {
		return nil, err
	}
	a.server = bot.NewServer(bot.Options{
		SigningSecret: cfg.Slack.SigningSecret, AllowedTeams: cfg.Slack.AllowedTeams, OwnTeam: team, OwnTeamName: teamName, Command: cfg.Slack.Command,
		Handler: a.svc, Surfaces: a.svc, Ready: a.ready, Metrics: a.metrics.Handler(), AdminSeparate: cfg.HTTP.AdminListen != "", AckObserver: a.metrics.AckLatency,
		Logger: a.log.With("component", "transport"), Now: o.Now, Replays: a.db, Routes: a.evidenceRoutes(),
		CallbackHosts: cfg.Slack.CallbackHosts, Fallback: a.slack, Names: a.slack,
	})
	if err := a.listen(cfg, o); err != nil {
		return nil, err
	}
	return a, nil
}

// listen opens the listeners (unless given) and builds their servers: the
// configured timeouts and header cap, and net/http's own error messages
// through the redacting logger.
func (a *App) listen(cfg *config.Config, o Options) error {
	t := bot.Timeouts{Read: cfg.HTTP.ReadTimeout, Write: cfg.HTTP.WriteTimeout, Idle: cfg.HTTP.IdleTimeout}
	errLog := telemetry.HTTPErrorLog(a.log.With("component", "http"))
	a.listener = o.Listener
	if a.listener == nil {
		var err error
		if a.listener, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
			return fmt.Errorf("http.listen: %w", err)
		}
	}
	a.http = bot.NewHTTPServer(a.server.Handler(), t, errLog)
	if cfg.HTTP.AdminListen == "" {
		return nil
	}
	a.adminListener = o.AdminListener
	if a.adminListener == nil {
		var err error
		if a.adminListener, err = net.Listen("tcp", cfg.HTTP.AdminListen); err != nil {
			return fmt.Errorf("http.admin_listen: %w", err)
		}
	}
	a.admin = bot.NewHTTPServer(a.server.AdminHandler(), t, errLog)
	return nil
}

// Addr is the address the HTTP routes are served on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// AdminAddr is the address of http.admin_listen, or "" when it is not set.
func (a *App) AdminAddr() string {
	if a.adminListener == nil {
		return ""
	}
	return a.adminListener.Addr().String()
}

// Run serves until ctx ends, then shuts down in order: stop taking Slack
// traffic, let acknowledged work and running jobs finish (bounded), close.
func (a *App) Run(ctx context.Context) error {
	if err := a.queue.Start(ctx, a.svc); err != nil {
		a.close()
		return fmt.Errorf("queue: %w", err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	serve := func(name string, srv *http.Server, ln net.Listener) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	serve("http", a.http, a.listener)
	if a.admin != nil {
		serve("http admin", a.admin, a.adminListener)
	}
	sctx, stopSocket := context.WithCancel(ctx)
	defer stopSocket()
	if a.cfg.Slack.Mode == "socket" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.server.RunSocket(sctx, a.slack); err != nil && sctx.Err() == nil {
				errc <- fmt.Errorf("socket mode: %w", err)
			}
		}()
	}
	a.log.Info("mdebot serving", "addr", a.Addr(), "admin_addr", a.AdminAddr(), "mode", a.cfg.Slack.Mode, "store", a.cfg.Store.Driver)
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	// In order, within one budget: no new Slack traffic; acknowledged work
	// and running jobs finish (or are cancelled and given a moment); only
	// then identity (its pending sign-ins tell their users) and the store
	// close, so that nothing still running writes to a closed store.
	stopSocket()
	shut, cancel := context.WithTimeout(context.Background(), shutdownBudget)
	defer cancel()
	_ = a.http.Shutdown(shut)
	if a.admin != nil {
		_ = a.admin.Shutdown(shut)
	}
	if err := a.server.Shutdown(shut); err != nil {
		a.log.Warn("background work did not finish in time", "err", err)
	}
	wg.Wait()
	if err := a.queue.Stop(shut); err != nil {
		a.log.Warn("jobs did not stop in time", "err", err)
	}
	a.svc.Close()
	a.close()
	a.log.Info("mdebot stopped")
	return runErr
}

// evidenceRoutes serves the file store's download links; other stores
// hand out their own (SAS) links.
func (a *App) evidenceRoutes() map[string]http.Handler {
	f, ok := a.evidence.(*evidence.File)
	if !ok {
		return nil
	}
	return map[string]http.Handler{"GET " + evidence.DownloadPath: f.Handler(evidence.HandlerOptions{
		OnDownload: a.svc.Downloaded, Logger: a.log.With("component", "evidence"),
	})}
}

// shutdownBudget bounds Run's orderly shutdown.
const shutdownBudget = 20 * time.Second

// close releases what New opened.
func (a *App) close() {
	if a.ident != nil {
		a.ident.Close()
	}
	if a.listener != nil && a.http == nil {
		a.listener.Close()
	}
	if a.adminListener != nil && a.admin == nil {
		a.adminListener.Close()
	}
	if a.evidence != nil {
		a.evidence.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
}

// ready backs /readyz: the store answers (the config was loaded to get here).
func (a *App) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.db.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func logger(cfg *config.Config, o Options) (*slog.Logger, error) {
	if o.Logger != nil {
		return o.Logger, nil
	}
	w := o.LogOutput
	if w == nil {
		w = os.Stderr
	}
	return telemetry.NewLogger(w, cfg.Log.Level, cfg.Log.Format, Secrets(cfg)...)
}

// Secrets are the configured values no log line may show.
func Secrets(cfg *config.Config) []string {
	s := []string{cfg.Slack.BotToken, cfg.Slack.AppToken, cfg.Slack.SigningSecret, cfg.Identity.ClientSecret, cfg.Store.EncryptionKey, cfg.Evidence.Azure.AccountKey}
	if u, err := url.Parse(cfg.Store.DSN); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			s = append(s, pw)
		}
	}
	return s
}

func queueOptions(q queue.Options, a *App) queue.Options {
	if q.PollEvery == 0 {
		q.PollEvery = a.cfg.MDE.PollInterval
	}
	if q.Logger == nil {
		q.Logger = a.log.With("component", "queue")
	}
	if q.OnFailure == nil {
		q.OnFailure = a.metrics.JobFailure
	}
	return q
}

func defenderClient(cfg *config.Config, a *App) (*mde.Client, error) {
	base := cfg.MDE.BaseURL
	if base == "" {
		c, err := mde.Endpoints(cfg.MDE.Cloud, cfg.MDE.Region)
		if err != nil {
			return nil, err
		}
		base = c.APIBase
	}
	return mde.New(mde.Options{BaseURL: base, DownloadHosts: cfg.MDE.DownloadHosts, MaxPackageSize: cfg.MDE.MaxPackageSize,
		Observe: a.metrics.DefenderCall, Logger: a.log.With("component", "mde")})
}

func identityService(cfg *config.Config, o Options, a *App) (*identity.Service, error) {
	key, err := cfg.EncryptionKey()
	if err != nil {
		return nil, err
	}
	authority := cfg.Identity.Authority
	if authority == "" {
		authority = cfg.LoginAuthority()
	}
	return identity.New(identity.Options{
		TenantID: cfg.Identity.TenantID, ClientID: cfg.Identity.ClientID, ClientSecret: cfg.Identity.ClientSecret,
		Authority: authority, Flow: cfg.Identity.Flow, RedirectURL: strings.TrimSuffix(cfg.HTTP.PublicURL, "/") + "/auth/callback",
		Scopes: cfg.Identity.Scopes, RequireEmailMatch: cfg.Identity.RequireEmailMatch, Key: key, Store: a.db, Emails: a.slack,
		HTTPClient: o.EntraClient, Logger: a.log.With("component", "identity"), Now: o.Now,
	})
}

// surfaces turns on the Slack surfaces slack.features lists: App Home, the
// Workflow Builder step (its tokens sealed with store.encryption_key) and
// the message shortcut.
func surfaces(cfg *config.Config, a *App, h *handlers.Options) error {
	for _, f := range cfg.Slack.Features {
		switch f {
		case config.FeatureAppHome:
			h.Home = a.slack
		case config.FeatureWorkflowStep:
			key, err := cfg.EncryptionKey()
			if err != nil {
				return err
			}
			sealer, err := identity.NewStepSealer(key)
			if err != nil {
				return err
			}
			h.Steps, h.Functions = a.db.Steps(sealer), a.slack
		case config.FeatureMessageShortcut:
			h.Shortcut = true
		}
	}
	return nil
}

// policy converts policy.* to the use cases' types.
func policy(cfg *config.Config) handlers.Policy {
	p := handlers.Policy{Requesters: cfg.Policy.Requesters}
	for _, c := range cfg.Policy.Channels {
		p.Channels = append(p.Channels, handlers.ChannelRule{
			Match: c.Match, Delivery: handlers.Delivery(c.Delivery), AllowExternal: c.AllowExternal,
			Approval: handlers.ApprovalRule{Required: c.Approval.Required, Approvers: c.Approval.Approvers,
				RequiredApprovals: c.Approval.RequiredApprovals, ExpiresAfter: c.Approval.ExpiresAfter,
				RequiredFor: requestKinds(c.Approval.RequiredFor)},
		})
	}
	return p
}

// requestKinds converts approval.required_for; an empty list stays empty
// (every kind), as config's default lists them all.
func requestKinds(ks []string) []handlers.Kind {
	var out []handlers.Kind
	for _, k := range ks {
		out = append(out, handlers.Kind(k))
	}
	return out
}
