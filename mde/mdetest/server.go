// Package mdetest is a fake Microsoft Defender for Endpoint API over real
// HTTP (httptest, plain http on 127.0.0.1). It is strict like the real one:
// the documented routes and bodies, MDE error objects, sliding-window rate
// limits with 429 and Retry-After, 404 from getPackageUri until the action
// succeeded, short-lived package links. Faults can be injected per endpoint.
package mdetest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/mdebot/mdebot/mde"
)

// Endpoint names, as the mde client reports them to Observe.
const (
	EndpointPackageURI      = "getPackageUri"
	EndpointGetAction       = "getMachineAction"
	EndpointListActions     = "listMachineActions"
	EndpointCollect         = "collectInvestigationPackage"
	EndpointGetMachine      = "getMachine"
	EndpointListMachines    = "listMachines"
	EndpointDownload        = "download" // package and live response result downloads
	EndpointRunLiveResponse = "runLiveResponse"
	EndpointResultLink      = "getLiveResponseResultDownloadLink"
)

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// PackageURILimits are getPackageUri's budgets, global to the fake as
	// they are per app and tenant for real (default 2/min, 120/h).
	PackageURILimits mde.Limits
	// APILimits are every other API endpoint's budgets, per endpoint
	// (default 100/min, 1500/h). Downloads are not limited.
	APILimits mde.Limits
	// Now is the clock for limits, links, action times and records (default time.Now).
	Now func() time.Time
	// PackageTTL is how long a package link stays valid (default 10 min).
	PackageTTL time.Duration
	// Authorize decides on a bearer token: 0 allows, 401 or 403 refuses.
	// A request without a token is always 401. Default: any token is allowed.
	Authorize func(token, method, path string) int
	// Requestor names the user behind a token, for new actions (default: the
	// upn, preferred_username or email claim of a JWT, else "analyst@fake.invalid").
	Requestor func(token string) string
	// UnquotedValue serves getPackageUri's value as a plain URL instead of the
	// documented example's "\"https://...\"".
	UnquotedValue bool
	// PackageSize is the realistic zip's exact size in bytes (default 64 KiB;
	// at least the 15 KiB of its content, see RealisticFacts).
	PackageSize int64
	// NoContentLength serves the package chunked, without Content-Length.
	NoContentLength bool
	// LiveResponseLimits are runliveresponse's budgets (default
	// mde.DefaultLiveResponseLimits: 10/min, 600/h).
	LiveResponseLimits mde.Limits
	// ResultLinkTTL is how long a live response result link stays valid
	// (default 30 min, as Defender documents).
	ResultLinkTTL time.Duration
	// MaxLiveSessions is how many live response sessions may run at once in
	// the tenant (default 25); one more is answered 429.
	MaxLiveSessions int
	// RefuseIDFilters answers 400 to a machine action $filter naming id,
	// as a Defender that does not support it would.
	RefuseIDFilters bool
	// MaxQueryLength answers 414 to a longer query string (default 2048
	// bytes, IIS's default).
	MaxQueryLength int
}

// Request is one request the fake saw.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Token    string // the bearer token sent, "" if none
	Status   int
	At       time.Time
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234 (no trailing slash).
	URL string

	opts  Options
	srv   *httptest.Server
	pkg   packageFile
	kinds packageKinds // the packages of SetPackage

	mu            sync.Mutex
	machines      []mde.Machine
	actions       map[string]*actionState
	actionOrder   []string
	collectScript []Step
	windows       map[string][]time.Time
	requests      []Request
	uriCalls      []time.Time
	uriServed     []time.Time
	links         map[string]time.Time // package token -> expiry
	issued        []string
	faults        map[string][]fault
	delays        map[string][]time.Duration
	cutAfter      int64 // -1: none
	stallAfter    int64 // -1: none
	stallFor      time.Duration
	live          liveState        // runliveresponse and its results (liveresponse.go, blob.go)
	blob          *httptest.Server // the "blob storage" serving live response results
}

// New builds the package zip (in a temp file) and starts the fake. It panics
// if the package cannot be written, as httptest.NewServer does when it
// cannot listen.
func New(opts Options) *Server {
	if opts.PackageURILimits == (mde.Limits{}) {
		opts.PackageURILimits = mde.DefaultPackageURILimits()
	}
	opts = liveDefaults(opts)
	if opts.APILimits == (mde.Limits{}) {
		opts.APILimits = mde.Limits{PerMinute: 100, PerHour: 1500}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PackageTTL <= 0 {
		opts.PackageTTL = 10 * time.Minute
	}
	if opts.PackageSize <= 0 {
		opts.PackageSize = 64 << 10
	}
	pkg, err := buildPackage(opts.PackageSize)
	if err != nil {
		panic(fmt.Sprintf("mdetest: building the package: %v", err))
	}
	s := &Server{
		opts:          opts,
		pkg:           pkg,
		actions:       map[string]*actionState{},
		collectScript: defaultCollectScript(),
		windows:       map[string][]time.Time{},
		links:         map[string]time.Time{},
		faults:        map[string][]fault{},
		delays:        map[string][]time.Duration{},
		cutAfter:      -1,
		stallAfter:    -1,
		live:          newLiveState(),
	}
	mux := http.NewServeMux()
	s.route(mux, "GET /api/machineactions/{id}/getPackageUri", EndpointPackageURI, s.getPackageURI)
	s.route(mux, "GET /api/machineactions/{id}", EndpointGetAction, s.getAction)
	s.route(mux, "GET /api/machineactions", EndpointListActions, s.listActions)
	s.route(mux, "POST /api/machines/{id}/collectInvestigationPackage", EndpointCollect, s.collect)
	s.route(mux, "GET /api/machines/{id}", EndpointGetMachine, s.getMachine)
	s.route(mux, "GET /api/machines", EndpointListMachines, s.listMachines)
	s.route(mux, "GET "+packagePath, EndpointDownload, s.download)
	s.route(mux, "POST /api/machines/{id}/runliveresponse", EndpointRunLiveResponse, s.runLiveResponse)
	s.route(mux, "GET /api/machineactions/{id}/{call}", EndpointResultLink, s.resultLink)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(r, http.StatusNotFound, s.opts.Now())
		writeError(w, http.StatusNotFound, "NotFound", "No such route: "+r.Method+" "+r.URL.Path)
	})
	s.blob = httptest.NewServer(s.blobMux())
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Close stops the servers and removes the package file.
func (s *Server) Close() {
	s.srv.Close()
	s.blob.Close()
	s.pkg.remove()
	s.kinds.remove()
}

// PackageSHA256 is the hex SHA-256 of the package every link serves.
func (s *Server) PackageSHA256() string { return s.pkg.sha256 }

// PackageBytes is the package's size.
func (s *Server) PackageBytes() int64 { return s.pkg.size }

// Requests returns every request seen, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// PackageURICalls returns the arrival time of every getPackageUri call,
// whatever the answer (refused, throttled, not ready, failed, served).
func (s *Server) PackageURICalls() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.uriCalls...)
}

// PackageURIServed returns the arrival time of the getPackageUri calls
// answered 200 with a link.
func (s *Server) PackageURIServed() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.uriServed...)
}

// IssuedPackageTokens returns every package link credential handed out (for
// audits that these never reach logs or storage).
func (s *Server) IssuedPackageTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

type handler func(w http.ResponseWriter, r *http.Request, token string)

// route wraps h with what every real endpoint does first: record, delay,
// authenticate, throttle, injected faults.
func (s *Server) route(mux *http.ServeMux, pattern, endpoint string, h handler) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		at := s.opts.Now()
		token := bearer(r)
		rw := &statusWriter{ResponseWriter: w}
		defer func() {
			// Recorded even when a cut download aborts the handler.
			s.record(r, rw.code(), at)
			if p := recover(); p != nil {
				panic(p)
			}
		}()
		if endpoint == EndpointPackageURI {
			s.mu.Lock()
			s.uriCalls = append(s.uriCalls, at)
			s.mu.Unlock()
		}
		if d := s.takeDelay(endpoint); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-r.Context().Done():
				t.Stop()
				rw.status = 499 // client went away, as nginx logs it
				return
			case <-t.C:
			}
		}
		if endpoint != EndpointDownload {
			if n := len(r.URL.RawQuery); n > s.opts.MaxQueryLength {
				writeError(rw, http.StatusRequestURITooLong, "BadRequest",
					fmt.Sprintf("The query string is %d bytes long; at most %d are accepted.", n, s.opts.MaxQueryLength))
				return
			}
			if token == "" {
				writeError(rw, http.StatusUnauthorized, "Unauthorized", "Authorization header with a bearer token is required.")
				return
			}
			if s.opts.Authorize != nil {
				if code := s.opts.Authorize(token, r.Method, r.URL.Path); code != 0 {
					writeError(rw, code, codeFor(code), refusalText(code))
					return
				}
			}
			if wait := s.admit(endpoint, at); wait > 0 {
				secs := int64((wait + time.Second - 1) / time.Second)
				rw.Header().Set("Retry-After", fmt.Sprint(secs))
				writeError(rw, http.StatusTooManyRequests, "TooManyRequests",
					fmt.Sprintf("Rate limit is exceeded. Try again in %d seconds.", secs))
				return
			}
		}
		if f, ok := s.takeFault(endpoint); ok {
			f.serve(rw, endpoint)
			return
		}
		h(rw, r, token)
	})
}

func (s *Server) record(r *http.Request, status int, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Token: bearer(r), Status: status, At: at,
	})
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// writeError writes Defender's error object.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{
		"code": code, "message": message, "target": newGUID(),
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "BadRequest"
	case http.StatusUnauthorized:
		return "Unauthorized"
	case http.StatusForbidden:
		return "Forbidden"
	case http.StatusNotFound:
		return "NotFound"
	case http.StatusTooManyRequests:
		return "TooManyRequests"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	}
	if status >= 500 {
		return "InternalServerError"
	}
	return "BadRequest"
}

func refusalText(status int) string {
	if status == http.StatusForbidden {
		return "The user does not have the required permission or has no access to the machine's device group."
	}
	return "The access token is invalid or expired."
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
