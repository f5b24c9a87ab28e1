// Package slackfake is a fake Slack for tests and the demo: the Web API
// methods mdebot calls, the external file upload, response_url hooks and a
// Socket Mode WebSocket, served over real HTTP on loopback (httptest). It
// follows Slack's documented request and response shapes, answers
// {"ok":false,"error":...} like Slack, checks tokens, records everything and
// can inject faults (429s, Slack errors, failing uploads). Towards the bot it
// sends what Slack sends: slash commands, clicks, message shortcuts and
// Events API events (App Home, Workflow Builder steps), signed over HTTP or
// as Socket Mode envelopes, retried and redelivered like Slack.
package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Defaults for Options fields left empty.
const (
	DefaultTeamID    = "T0001"
	DefaultBotToken  = "xoxb-fake-bot-token"
	DefaultAppToken  = "xapp-fake-app-token"
	DefaultBotUserID = "U0BOT"
	DefaultAppID     = "A0001"
)

// Options configures the fake.
type Options struct {
	TeamID    string // default T0001
	TeamName  string // default "fake"
	BotToken  string // default DefaultBotToken; calls must carry it
	AppToken  string // default DefaultAppToken; apps.connections.open must carry it
	BotUserID string // default U0BOT
	AppID     string // default A0001
	// PingInterval is how often the Socket Mode endpoint pings clients, as
	// Slack does (slack-go reconnects after 30 s without a ping); default 5 s.
	PingInterval time.Duration
	// KeepUploadBytes caps the bytes kept per upload (all are hashed); default 1 MiB.
	KeepUploadBytes int
	// OnEvent, when set, is called after each recorded event (the demo prints the conversation from it).
	OnEvent func(Event)
	// RequireExecutionToken makes functions.completeSuccess/completeError
	// accept only the execution's own bot_access_token (as function_executed
	// issued it), refusing the long-lived bot token with invalid_auth. Whether
	// Slack accepts the bot token there is unverified; this mode tests the strict case.
	RequireExecutionToken bool
	// HomeTabDisabled makes views.publish answer not_enabled, as Slack does
	// when the manifest leaves features.app_home.home_tab_enabled off.
	HomeTabDisabled bool
}

// Server is a running fake Slack.
type Server struct {
	o  Options
	ts *httptest.Server

	mu       sync.Mutex
	seq      int64
	changed  chan struct{} // closed and replaced whenever something is recorded
	events   []Event
	users    map[string]User
	channels map[string]Channel
	groups   map[string][]string
	dms      map[string]string // DM channel ID -> user
	messages []*Message        // channel messages (chat.postMessage), current state
	uploads  map[string]*Upload
	upOrder  []string
	hooks    map[string]*hook // response_url token -> hook
	faults   map[string][]fault
	upFails  int
	tickets  map[string]bool // one-time Socket Mode URLs
	conns    map[*wsConn]bool
	acks     map[string]chan json.RawMessage
	closed   chan struct{}

	envelopes  map[string]*envelope          // Socket Mode envelopes sent, for redelivery
	posted     map[string]int                // event_id -> HTTP deliveries so far
	homes      map[string]*HomeView          // user -> published Home tab
	execs      map[string]*FunctionExecution // function_execution_id -> execution
	execTokens map[string]string             // bot_access_token -> function_execution_id
	limits     map[string]*rateWindow        // method -> calls allowed per window
}

type fault struct {
	status     int // 429 or 200
	retryAfter time.Duration
	slackError string
}

type hook struct {
	id    string
	posts int
}

// New starts a fake Slack on a loopback port.
func New(o Options) *Server {
	if o.TeamID == "" {
		o.TeamID = DefaultTeamID
	}
	if o.TeamName == "" {
		o.TeamName = "fake"
	}
	if o.BotToken == "" {
		o.BotToken = DefaultBotToken
	}
	if o.AppToken == "" {
		o.AppToken = DefaultAppToken
	}
	if o.BotUserID == "" {
		o.BotUserID = DefaultBotUserID
	}
	if o.AppID == "" {
		o.AppID = DefaultAppID
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 5 * time.Second
	}
	if o.KeepUploadBytes <= 0 {
		o.KeepUploadBytes = 1 << 20
	}
	s := &Server{
		o:        o,
		changed:  make(chan struct{}),
		users:    map[string]User{},
		channels: map[string]Channel{},
		groups:   map[string][]string{},
		dms:      map[string]string{},
		uploads:  map[string]*Upload{},
		hooks:    map[string]*hook{},
		faults:   map[string][]fault{},
		tickets:  map[string]bool{},
		conns:    map[*wsConn]bool{},
		acks:     map[string]chan json.RawMessage{},
		closed:   make(chan struct{}),

		envelopes:  map[string]*envelope{},
		posted:     map[string]int{},
		homes:      map[string]*HomeView{},
		execs:      map[string]*FunctionExecution{},
		execTokens: map[string]string{},
		limits:     defaultLimits(),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("POST /upload/{file}", s.serveUpload)
	mux.HandleFunc("POST /response/{token}", s.serveResponse)
	mux.HandleFunc("GET /socket/{ticket}", s.serveSocket)
	s.ts = httptest.NewServer(mux)
	return s
}

// URL is the Web API base (ends in /api/), for slack.OptionAPIURL / slack.api_url.
func (s *Server) URL() string { return s.ts.URL + "/api/" }

// TeamID is the fake workspace's ID.
func (s *Server) TeamID() string { return s.o.TeamID }

// BotToken and AppToken are the tokens the fake accepts.
func (s *Server) BotToken() string { return s.o.BotToken }

// AppToken is the app-level token apps.connections.open accepts.
func (s *Server) AppToken() string { return s.o.AppToken }

// Close drops Socket Mode connections and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		return
	default:
		close(s.closed)
	}
	s.mu.Unlock()
	s.DropConnections()
	s.ts.Close()
}

// RateLimitNext makes the next n calls of method answer HTTP 429 with
// Retry-After (whole seconds, rounded up; 0 allowed).
func (s *Server) RateLimitNext(method string, n int, retryAfter time.Duration) {
	s.addFaults(method, n, fault{status: http.StatusTooManyRequests, retryAfter: retryAfter, slackError: "ratelimited"})
}

// FailNext makes the next n calls of method answer {"ok":false,"error":slackError}.
func (s *Server) FailNext(method string, n int, slackError string) {
	s.addFaults(method, n, fault{status: http.StatusOK, slackError: slackError})
}

// FailUploadNext makes the next n posts to an upload URL answer HTTP 500.
func (s *Server) FailUploadNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upFails += n
}

func (s *Server) addFaults(method string, n int, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[method] = append(s.faults[method], f)
	}
}

// takeFault pops the next fault for method, if any.
func (s *Server) takeFault(method string) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.faults[method]
	if len(fs) == 0 {
		return fault{}, false
	}
	s.faults[method] = fs[1:]
	return fs[0], true
}

// nextID returns prefix + a fresh number (IDs, file IDs, tokens). Callers hold s.mu.
func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%06d", prefix, s.seq)
}

// nextTS returns a fresh, increasing Slack message timestamp. Callers hold s.mu.
func (s *Server) nextTS() string {
	s.seq++
	return strconv.FormatInt(1700000000+s.seq/1000000, 10) + fmt.Sprintf(".%06d", s.seq%1000000)
}

// ResponseURL returns a fresh response_url; posts to it are recorded under id.
// Like Slack's, it takes at most 5 posts.
func (s *Server) ResponseURL(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.nextID("R")
	s.hooks[tok] = &hook{id: id}
	return s.ts.URL + "/response/" + tok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
