package mdetest

import (
	"net/http"
	"slices"
	"time"
)

// admit applies the endpoint's sliding windows at time at: 0 records the call
// and lets it through; otherwise it is how long until the windows free up.
func (s *Server) admit(endpoint string, at time.Time) time.Duration {
	l := s.opts.APILimits
	switch endpoint {
	case EndpointPackageURI:
		l = s.opts.PackageURILimits
	case EndpointRunLiveResponse:
		l = s.opts.LiveResponseLimits
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := slices.DeleteFunc(s.windows[endpoint], func(c time.Time) bool { return !c.After(at.Add(-time.Hour)) })
	slices.SortFunc(calls, func(a, b time.Time) int { return a.Compare(b) })
	wait := max(windowWait(calls, at, time.Minute, l.PerMinute), windowWait(calls, at, time.Hour, l.PerHour))
	if wait == 0 {
		calls = append(calls, at)
	}
	s.windows[endpoint] = calls
	return wait
}

// windowWait is how long until the window (at-w, at] of sorted calls holds
// fewer than limit calls (0 when it already does, or limit is unset).
func windowWait(calls []time.Time, at time.Time, w time.Duration, limit int) time.Duration {
	if limit <= 0 {
		return 0
	}
	var in []time.Time
	for _, c := range calls {
		if c.After(at.Add(-w)) && !c.After(at) {
			in = append(in, c)
		}
	}
	if len(in) < limit {
		return 0
	}
	return in[len(in)-limit].Add(w).Sub(at)
}

// fault is an injected answer replacing an endpoint's real one.
type fault struct {
	status    int
	malformed bool
}

func (f fault) serve(w http.ResponseWriter, endpoint string) {
	switch {
	case f.malformed:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte(`{"value": [{"id": "truncated`))
	case endpoint == EndpointDownload:
		http.Error(w, http.StatusText(f.status), f.status)
	default:
		if f.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, f.status, codeFor(f.status), "Injected failure")
	}
}

// FailNext makes the next n calls of endpoint answer status (with an MDE
// error body; a 429 carries Retry-After: 1). Endpoint names as mde.Options.Observe.
func (s *Server) FailNext(endpoint string, n, status int) {
	s.addFaults(endpoint, n, fault{status: status})
}

// MalformedNext makes the next n calls of endpoint answer 200 with invalid JSON.
func (s *Server) MalformedNext(endpoint string, n int) {
	s.addFaults(endpoint, n, fault{status: http.StatusOK, malformed: true})
}

func (s *Server) addFaults(endpoint string, n int, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[endpoint] = append(s.faults[endpoint], f)
	}
}

// DelayNext holds the next n calls of endpoint for d before answering.
func (s *Server) DelayNext(endpoint string, n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.delays[endpoint] = append(s.delays[endpoint], d)
	}
}

// CutDownloadAfter makes the next download stop after n bytes of the body
// and drop the connection.
func (s *Server) CutDownloadAfter(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutAfter = n
}

// StallDownloadAfter makes the next download send n bytes of the body, then
// pause for d before the rest: a download caught in the middle (a process
// killed while it writes the package).
func (s *Server) StallDownloadAfter(n int64, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallAfter, s.stallFor = n, d
}

func (s *Server) takeStall() (int64, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, d := s.stallAfter, s.stallFor
	s.stallAfter, s.stallFor = -1, 0
	return n, d
}

func (s *Server) takeFault(endpoint string) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[endpoint]
	if len(q) == 0 {
		return fault{}, false
	}
	s.faults[endpoint] = q[1:]
	return q[0], true
}

func (s *Server) takeDelay(endpoint string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.delays[endpoint]
	if len(q) == 0 {
		return 0
	}
	s.delays[endpoint] = q[1:]
	return q[0]
}

func (s *Server) takeCut() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.cutAfter
	s.cutAfter = -1
	return n
}
