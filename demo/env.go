// Package demo runs mdebot on this machine against fakes of Slack, Entra ID
// and Defender: the scripted and interactive demos, and the environment the
// end-to-end tests and benchmarks drive. Everything between the fakes is the
// real bot: its HTTP server, slack-go, MSAL Go, the Defender client, SQLite.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/mdebot/mdebot/app"
	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/identity/entratest"
	"github.com/mdebot/mdebot/mde/mdetest"
	"github.com/mdebot/mdebot/queue"
)

// The cast and the places of the demo workspace.
const (
	TenantID = "11111111-2222-3333-4444-555555555555"
	ClientID = "66666666-7777-8888-9999-000000000000"

	Alice = "U0ALICE01" // analyst
	Bob   = "U0BOB0001" // SOC lead, approver
	Carol = "U0CAROL01" // analyst, not an approver
	Dave  = "U0DAVE001" // SOC lead, approver

	SOCLeads = "S0SOCLEAD" // user group of the approvers

	ChanUpload   = "C0UPLOAD1" // #inc-2041-ransomware: upload, no approval
	ChanLink     = "C0LINKCH1" // #inc-2042-phishing: link in channel
	ChanPrivate  = "C0PRIVAT1" // #inc-2043-beacon: link privately (matched by name glob)
	ChanApproval = "C0APPROV1" // #ir-approvals: upload after one approval
	ChanRandom   = "C0RANDOM1" // #random: not in the policy
)

// Options shape an Env.
type Options struct {
	// Mode is slack.mode: "http" (default here) or "socket".
	Mode string
	// Driver and DSN select the store (default SQLite in Dir).
	Driver, DSN string
	// Dir holds the database and files (default a new temp dir, removed on Close).
	Dir string
	// NoApp starts only the fakes (for tests that run `mdebot serve` themselves).
	NoApp bool
	// Log receives the bot's logs (default discarded).
	Log io.Writer
	// PollInterval is mde.poll_interval (default 1s, the smallest allowed).
	PollInterval time.Duration
	// PackageSize is the fake package's size (default 256 KiB).
	PackageSize int64
	// OnSlack sees every Slack event (the demo prints the conversation from it).
	OnSlack func(slackfake.Event)
	// Tune adjusts the configuration before the bot starts.
	Tune func(*config.Config)
	// MDE adjusts the fake Defender's options.
	MDE func(*mdetest.Options)
	// Handlers adjusts the use cases' options past what the configuration
	// allows (tests: a link TTL or a retention of seconds).
	Handlers func(*handlers.Options)
}

// Env is a running demo environment.
type Env struct {
	Slack  *slackfake.Server
	MDE    *mdetest.Server
	Entra  *entratest.Server
	Config *config.Config
	App    *app.App // nil with NoApp
	// BaseURL is the bot's HTTP base (http://127.0.0.1:port).
	BaseURL string
	// AdminURL is the base of http.admin_listen when a Tune set it (e.g. to
	// 127.0.0.1:0), else "".
	AdminURL string
	HTTP     *http.Client
	Dir      string

	cancel  context.CancelFunc
	done    chan error
	cleanup []func()
}

// Start builds the fakes and, unless NoApp, starts the bot against them.
func Start(ctx context.Context, o Options) (_ *Env, err error) {
	e := &Env{HTTP: &http.Client{Timeout: 30 * time.Second}}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if o.Dir == "" {
		dir, err := mkTemp()
		if err != nil {
			return nil, err
		}
		o.Dir = dir
		e.cleanup = append(e.cleanup, func() { removeAll(dir) })
	}
	e.Dir = o.Dir
	e.Slack = slackfake.New(slackfake.Options{OnEvent: o.OnSlack})
	e.cleanup = append(e.cleanup, e.Slack.Close)
	e.Entra = entratest.New(TenantID)
	e.cleanup = append(e.cleanup, e.Entra.Close)
	mo := mdetest.Options{
		PackageSize: orInt(o.PackageSize, 256<<10),
		// Defender accepts only tokens the (fake) Entra issued for MDE.
		Authorize: func(token, _, _ string) int {
			if _, ok := e.Entra.Introspect(token); !ok {
				return http.StatusUnauthorized
			}
			return 0
		},
	}
	if o.MDE != nil {
		o.MDE(&mo)
	}
	e.MDE = mdetest.New(mo)
	e.cleanup = append(e.cleanup, e.MDE.Close)
	seed(e)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.BaseURL = "http://" + ln.Addr().String()
	if e.Config, err = e.config(o); err != nil {
		ln.Close()
		return nil, err
	}
	if o.NoApp {
		ln.Close() // the test's own process will listen here
		return e, nil
	}
	logger := slog.New(slog.DiscardHandler)
	if o.Log != nil {
		if logger, err = newLogger(o.Log, e.Config); err != nil {
			ln.Close()
			return nil, err
		}
	}
	e.App, err = app.New(ctx, e.Config, app.Options{
		Logger: logger, EntraClient: e.Entra.Client(), Listener: ln,
		Queue: queue.Options{SweepEvery: 2 * time.Second, FetchPoll: 50 * time.Millisecond},
		Tune: func(h *handlers.Options) {
			h.SpoolDir = o.Dir
			if o.Handlers != nil {
				o.Handlers(h)
			}
		},
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	if a := e.App.AdminAddr(); a != "" {
		e.AdminURL = "http://" + a
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	e.done = make(chan error, 1)
	go func() { e.done <- e.App.Run(runCtx) }()
	return e, e.waitHealthy(ctx)
}

// config is the bot's configuration pointing at the fakes.
func (e *Env) config(o Options) (*config.Config, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	c := config.Defaults()
	c.Slack.Mode = orStr(o.Mode, "http")
	c.Slack.BotToken = e.Slack.BotToken()
	c.Slack.AppToken = e.Slack.AppToken()
	c.Slack.SigningSecret = "demo-signing-secret-" + randomString(12)
	c.Slack.APIURL = e.Slack.URL()
	// The fake's response_url and upload_url are on loopback.
	c.Slack.CallbackHosts = []string{"127.0.0.1"}
	c.HTTP.Listen = e.BaseURL[len("http://"):]
	c.HTTP.PublicURL = e.BaseURL
	c.MDE.BaseURL = e.MDE.URL
	c.MDE.DownloadHosts = []string{"127.0.0.1"}
	c.MDE.PollInterval = orDur(o.PollInterval, time.Second)
	c.MDE.WaitTimeout = time.Minute
	c.Identity.TenantID = TenantID
	c.Identity.ClientID = ClientID
	c.Identity.ClientSecret = "demo-client-secret-" + randomString(12)
	c.Identity.Authority = e.Entra.URL()
	c.Store.Driver = orStr(o.Driver, "sqlite")
	c.Store.DSN = orStr(o.DSN, "file:"+filepath.Join(o.Dir, "mdebot.db"))
	c.Store.EncryptionKey = base64.StdEncoding.EncodeToString(key)
	c.Log.Level = "debug"
	c.Policy.Channels = []config.ChannelPolicy{
		{Match: ChanUpload, Delivery: "upload", Approval: config.Approval{RequiredApprovals: 1, ExpiresAfter: time.Hour, RequiredFor: config.AllRequestKinds}},
		{Match: ChanLink, Delivery: "link_in_channel", Approval: config.Approval{RequiredApprovals: 1, ExpiresAfter: time.Hour, RequiredFor: config.AllRequestKinds}},
		{Match: ChanApproval, Delivery: "upload", Approval: config.Approval{Required: true, Approvers: []string{SOCLeads}, RequiredApprovals: 1, ExpiresAfter: 10 * time.Minute, RequiredFor: config.AllRequestKinds}},
		{Match: "inc-*", Delivery: "link", Approval: config.Approval{RequiredApprovals: 1, ExpiresAfter: time.Hour, RequiredFor: config.AllRequestKinds}},
	}
	e.Entra.AddClient(entratest.Client{ID: ClientID, Secret: c.Identity.ClientSecret})
	if o.Tune != nil {
		o.Tune(c)
	}
	if ps := c.Validate(); len(ps) > 0 {
		return nil, fmt.Errorf("demo configuration: %w", ps)
	}
	return c, nil
}

// waitHealthy waits until /healthz answers.
func (e *Env) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.BaseURL+"/healthz", nil)
		if resp, err := e.HTTP.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bot did not become healthy: %w", ctx.Err())
		case err := <-e.done:
			return fmt.Errorf("bot stopped: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop shuts the bot down (as SIGTERM would) and waits for it.
func (e *Env) Stop() error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	e.cancel = nil
	return <-e.done
}

// Close stops the bot and the fakes and removes the temp dir.
func (e *Env) Close() {
	_ = e.Stop()
	for i := len(e.cleanup) - 1; i >= 0; i-- {
		e.cleanup[i]()
	}
	e.cleanup = nil
}
