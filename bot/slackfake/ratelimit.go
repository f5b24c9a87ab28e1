package slackfake

import (
	"time"
)

// rateWindow allows n calls of a method per period (a sliding window),
// a loose model of Slack's per-method tiers.
type rateWindow struct {
	n      int
	period time.Duration
	calls  []time.Time // the calls inside the window, oldest first
}

// defaultLimits are the documented tiers of the methods the fake limits by
// default: views.publish is Tier 4 (100+ per minute), functions.* Tier 3 (50+).
func defaultLimits() map[string]*rateWindow {
	return map[string]*rateWindow{
		"views.publish":             {n: 100, period: time.Minute},
		"functions.completeSuccess": {n: 50, period: time.Minute},
		"functions.completeError":   {n: 50, period: time.Minute},
	}
}

// LimitRate lets method answer at most n calls per period; beyond that it
// answers HTTP 429 with Retry-After until the oldest call leaves the window.
// n <= 0 removes the limit. Unlike RateLimitNext it counts real calls.
func (s *Server) LimitRate(method string, n int, period time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 || period <= 0 {
		delete(s.limits, method)
		return
	}
	s.limits[method] = &rateWindow{n: n, period: period}
}

// overLimit counts one call of method and says how long to wait when it is over the limit.
func (s *Server) overLimit(method string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.limits[method]
	if w == nil {
		return 0, false
	}
	now := time.Now()
	for len(w.calls) > 0 && now.Sub(w.calls[0]) >= w.period {
		w.calls = w.calls[1:]
	}
	if len(w.calls) >= w.n {
		return w.calls[0].Add(w.period).Sub(now), true
	}
	w.calls = append(w.calls, now)
	return 0, false
}
