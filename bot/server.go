// Package bot is mdebot's Slack transport: signed HTTP requests and Socket
// Mode in, Web API calls out (slack-go), and the one Block Kit renderer. It
// turns Slack payloads into the platform-neutral handlers types, acknowledges
// at once with the handler's reply, and runs the handler's work afterwards.
package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mdebot/mdebot/handlers"
)

// Handler is the platform-neutral side: it answers at once (Ack) and leaves
// slow work to Ack.Work, which the transport runs after acknowledging.
type Handler interface {
	Command(ctx context.Context, c handlers.Command) handlers.Ack
	Click(ctx context.Context, c handlers.Click) handlers.Ack
	LoginCallback(ctx context.Context, state, code, errCode, errDesc string) handlers.Page
}

// Options configures a Server.
type Options struct {
	// SigningSecret verifies /slack/* requests; empty refuses them all.
	SigningSecret string
	// AllowedTeams are the workspace (or Enterprise Grid org) IDs served;
	// empty means OwnTeam only.
	AllowedTeams []string
	// OwnTeam is the bot token's team (auth.test).
	OwnTeam string
	// Command is the slash command served (e.g. /mde-package); empty accepts any.
	Command string
	Handler Handler
	// Ready backs /readyz; nil means always ready.
	Ready func(context.Context) error
	// Metrics, when set, is served on /metrics.
	Metrics http.Handler
	// AckObserver gets the ack latency of every command ("command") and click ("interaction").
	AckObserver func(kind string, d time.Duration)
	Logger      *slog.Logger
	// Now is the clock for signature timestamps and ReceivedAt; default time.Now.
	Now func() time.Time
	// HTTPClient posts click replies to Slack's response_url; default a client with a 30 s timeout.
	HTTPClient *http.Client
	// MaxBackground bounds the acknowledged work running at once (default 16);
	// more waits its turn, so a burst of commands cannot starve the acks.
	MaxBackground int
}

// maxBody caps a Slack request body; slash commands and clicks are a few KiB.
const maxBody = 64 << 10

// Server serves the Slack routes (HTTP mode), the Socket Mode loop, and the
// operational routes (/auth/callback, /healthz, /readyz, /metrics).
type Server struct {
	o       Options
	log     *slog.Logger
	now     func() time.Time
	allowed map[string]bool
	mux     *http.ServeMux

	// Background work (Ack.Work, click replies) runs under workCtx, which
	// Shutdown cancels only when its deadline passes.
	workCtx    context.Context
	cancelWork context.CancelFunc
	mu         sync.Mutex
	closed     bool
	work       sync.WaitGroup
	slots      chan struct{} // one per background unit running
}

// NewServer builds a Server; it does not listen (serve Handler() with an http.Server).
func NewServer(o Options) *Server {
	s := &Server{o: o, log: o.Logger, now: o.Now, allowed: map[string]bool{}}
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
	if s.o.MaxBackground <= 0 {
		s.o.MaxBackground = 16
	}
	s.slots = make(chan struct{}, s.o.MaxBackground)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", s.serveCommand)
	mux.HandleFunc("POST /slack/interactivity", s.serveInteractivity)
	mux.HandleFunc("GET /auth/callback", s.serveCallback)
	mux.HandleFunc("GET /healthz", s.serveHealth)
	mux.HandleFunc("GET /readyz", s.serveReady)
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
	s.mux = mux
	return s
}

// Handler returns the mux with every route.
func (s *Server) Handler() http.Handler { return s.mux }

// Shutdown stops accepting commands and clicks, then waits for background
// work until ctx ends; at that point the work's context is cancelled.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.work.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancelWork()
		return nil
	case <-ctx.Done():
		s.cancelWork()
		return fmt.Errorf("bot: background work still running at shutdown: %w", ctx.Err())
	}
}

// begin registers one unit of background work; false once shutting down.
func (s *Server) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.work.Add(1)
	return true
}

// background runs f after the acknowledgement; begin must have returned true.
func (s *Server) background(log *slog.Logger, f func(ctx context.Context)) {
	go func() {
		defer s.work.Done()
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-s.workCtx.Done():
			return
		}
		defer func() {
			// A panicking handler must not take the process (and every other
			// analyst's request) down with it.
			if p := recover(); p != nil {
				log.Error("background work panicked", "panic", fmt.Sprint(p))
			}
		}()
		f(s.workCtx)
	}()
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
