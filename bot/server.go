// Package bot is mdebot's Slack transport: signed HTTP requests and Socket
// Mode in, Web API calls out (slack-go), and the one Block Kit renderer. It
// turns Slack payloads into the platform-neutral handlers types, acknowledges
// at once with the handler's reply, and runs the handler's work afterwards.
package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdebot/mdebot/handlers"
)

// Handler is the platform-neutral side: it answers at once (Ack) and leaves
// slow work to Ack.Work, which the transport runs after acknowledging.
type Handler interface {
	Command(ctx context.Context, c handlers.Command) handlers.Ack
	Click(ctx context.Context, c handlers.Click) handlers.Ack
	// LoginCallback answers GET /auth/callback. errCode is the OAuth error
	// code when Microsoft reported one; its free-text description is never
	// passed on (it would be shown on the bot's own origin).
	LoginCallback(ctx context.Context, state, code, errCode string) handlers.Page
	// LoginConfirm answers POST /auth/confirm, the form of a page whose
	// Confirm was set: csrf is the token that page carried.
	LoginConfirm(ctx context.Context, state, code, csrf string) handlers.Page
}

// PrivateMessenger tells one user privately (ephemeral, else a DM); *Slack
// implements it.
type PrivateMessenger interface {
	Private(ctx context.Context, to handlers.Recipient, msg handlers.Message) error
}

// UserNamer gives a Slack user's name; *Slack implements it.
type UserNamer interface {
	UserName(ctx context.Context, user string) (string, error)
}

// Options configures a Server.
type Options struct {
	// SigningSecret verifies /slack/* requests; empty refuses them all.
	SigningSecret string
	// AllowedTeams are the workspace (or Enterprise Grid org) IDs served;
	// empty means OwnTeam only.
	AllowedTeams []string
	// OwnTeam is the bot token's team (auth.test), and OwnTeamName its name.
	OwnTeam, OwnTeamName string
	// Command is the slash command served (e.g. /mde-package); empty accepts any.
	Command string
	Handler Handler
	// Surfaces takes Events API events and message shortcuts; nil
	// acknowledges events and refuses shortcuts.
	Surfaces SurfaceHandler
	// Ready backs /readyz; nil means always ready.
	Ready func(context.Context) error
	// Metrics, when set, is served on /metrics.
	Metrics http.Handler
	// AdminSeparate serves /metrics only on AdminHandler (http.admin_listen
	// is set), not on Handler.
	AdminSeparate bool
	// AckObserver gets the ack latency of every command ("command"), click
	// or shortcut ("interaction") and event ("event").
	AckObserver func(kind string, d time.Duration)
	Logger      *slog.Logger
	// Now is the clock for signature timestamps and ReceivedAt; default time.Now.
	Now func() time.Time
	// HTTPClient posts click replies to Slack's response_url; default a client with a 30 s timeout.
	HTTPClient *http.Client
	// CallbackHosts are the only hosts a response_url may name
	// (slack.callback_hosts); default DefaultCallbackHosts(). A command's or
	// click's response_url on another host is dropped at once, never used.
	CallbackHosts []string
	// Fallback tells the clicker privately when a click's response_url is
	// refused or fails; nil leaves such a reply only logged.
	Fallback PrivateMessenger
	// Names, when set, names the Slack user on the sign-in confirmation page.
	Names UserNamer
	// MaxBackground bounds the commands' work running at once (default 16)
	// and MaxClickBackground the clicks' (default 16), apart, so that
	// commands cannot starve approvals. MaxPerUser bounds one user's units
	// of either kind (default 4). More waits its turn; acks never wait.
	MaxBackground, MaxClickBackground, MaxPerUser int
	// WorkTimeout is each background unit's deadline, counted from the
	// acknowledgement (default 5 minutes).
	WorkTimeout time.Duration
	// Replays, when set, makes a signed request or a Socket Mode envelope
	// count once across replicas.
	Replays Replays
	// Routes are more routes to serve beside Slack's (the evidence store's
	// downloads), keyed by ServeMux pattern.
	Routes map[string]http.Handler
}

// maxBody caps a Slack request body; slash commands and clicks are a few KiB.
const maxBody = 64 << 10

// Server serves the Slack routes (HTTP mode), the Socket Mode loop, and the
// operational routes (/auth/callback, /auth/confirm, /healthz, /readyz,
// /metrics).
//
// Long responses: http.write_timeout bounds every response. A route that
// streams for longer (an evidence download) wraps its ResponseWriter with
// ProgressWriter, which moves the write deadline forward as bytes go out.
type Server struct {
	o       Options
	log     *slog.Logger
	now     func() time.Time
	allowed map[string]bool
	hosts   callbackHosts
	mux     *http.ServeMux
	admin   *http.ServeMux

	// Background work (Ack.Work, click replies) runs under workCtx, which
	// Shutdown cancels only when its deadline passes.
	workCtx    context.Context
	cancelWork context.CancelFunc
	mu         sync.Mutex
	closed     bool
	work       sync.WaitGroup
	sched      *scheduler
	lastForget atomic.Int64 // unix ns of the last ForgetReplays
}

// NewServer builds a Server; it does not listen (serve Handler() with an
// http.Server from NewHTTPServer).
func NewServer(o Options) *Server {
	s := &Server{o: o, log: o.Logger, now: o.Now, allowed: map[string]bool{}, hosts: newCallbackHosts(o.CallbackHosts)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.o.HTTPClient == nil {
		s.o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	for _, t := range o.AllowedTeams {
		if t != "" {
			s.allowed[t] = true
		}
	}
	if len(s.allowed) == 0 && o.OwnTeam != "" {
		s.allowed[o.OwnTeam] = true
	}
	s.workCtx, s.cancelWork = context.WithCancel(context.Background())
	s.o.MaxBackground = orPositive(s.o.MaxBackground, defaultMaxBackground)
	s.o.MaxClickBackground = orPositive(s.o.MaxClickBackground, defaultMaxBackground)
	s.o.MaxPerUser = orPositive(s.o.MaxPerUser, defaultMaxPerUser)
	if s.o.WorkTimeout <= 0 {
		s.o.WorkTimeout = defaultWorkTimeout
	}
	s.sched = newScheduler(s.o.MaxBackground, s.o.MaxClickBackground, s.o.MaxPerUser)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", s.serveCommand)
	mux.HandleFunc("POST /slack/interactivity", s.serveInteractivity)
	mux.HandleFunc("POST /slack/events", s.serveEvents)
	mux.HandleFunc("GET /auth/callback", s.serveCallback)
	mux.HandleFunc("POST /auth/confirm", s.serveConfirm)
	for pattern, h := range o.Routes {
		mux.Handle(pattern, h)
	}
	admin := http.NewServeMux()
	for _, m := range []*http.ServeMux{mux, admin} {
		m.HandleFunc("GET /healthz", s.serveHealth)
		m.HandleFunc("GET /readyz", s.serveReady)
	}
	if o.Metrics != nil {
		admin.Handle("GET /metrics", o.Metrics)
		if !o.AdminSeparate {
			mux.Handle("GET /metrics", o.Metrics)
		}
	}
	s.mux, s.admin = mux, admin
	return s
}

// Handler returns the mux with every route (without /metrics when AdminSeparate).
func (s *Server) Handler() http.Handler { return s.mux }

// AdminHandler serves only /metrics, /healthz and /readyz (http.admin_listen).
func (s *Server) AdminHandler() http.Handler { return s.admin }

func orPositive(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

func (s *Server) teamAllowed(team, enterprise string) bool {
	return (team != "" && s.allowed[team]) || (enterprise != "" && s.allowed[enterprise])
}

func (s *Server) observe(kind string, start time.Time) {
	if s.o.AckObserver != nil {
		s.o.AckObserver(kind, time.Since(start))
	}
}

// newRequestID returns a short random correlation id for logs.
func newRequestID() string {
	// 64 bits: the use cases keep it as the request's ID, so one id runs
	// through the logs from the Slack request to the delivery.
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
