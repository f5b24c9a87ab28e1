package mde

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Options configure a Client. Zero values take the defaults noted.
type Options struct {
	// BaseURL is the API base, e.g. Endpoints(...).APIBase (required; see CheckBaseURL).
	BaseURL string
	// DownloadHosts are the host patterns a package or result link may point to
	// (default DefaultDownloadHosts()).
	DownloadHosts []string
	// MaxPackageSize is the largest package OpenPackage reads (default 1 GiB).
	MaxPackageSize int64
	// HTTPClient makes the requests (default: a client with connect,
	// TLS-handshake and response-header timeouts, no overall timeout so
	// large downloads can finish). The client never mutates it.
	HTTPClient *http.Client
	// Retries is how many times an idempotent call is repeated after a 5xx,
	// a transport failure or a short 429, so up to Retries+1 attempts
	// (default 3; negative: never repeat).
	Retries int
	// BackoffBase is the first backoff; it doubles per retry, with jitter (default 500ms).
	BackoffBase time.Duration
	// MaxRetryAfter is the longest Retry-After a call sleeps through itself;
	// longer ones are returned as KindRateLimited (default 10s; negative: never).
	MaxRetryAfter time.Duration
	// Observe, when set, is told of every HTTP attempt (status 0 when the
	// transport failed). Endpoint names: getPackageUri, getMachineAction,
	// listMachineActions, collectInvestigationPackage, getMachine,
	// listMachines, runLiveResponse, getLiveResponseResultDownloadLink,
	// download.
	Observe func(endpoint string, status int, d time.Duration)
	// Logger gets debug and warning records (default: discard).
	Logger *slog.Logger
}

// Client calls Defender for Endpoint on behalf of the token source passed to
// each call. It is safe for concurrent use.
type Client struct {
	base          string
	downloadHosts []string
	maxPackage    int64
	api           *http.Client // never follows redirects: the bearer token stays put
	download      *http.Client // follows redirects only to allowed hosts
	retries       int
	backoff       time.Duration
	maxRetryAfter time.Duration
	observe       func(string, int, time.Duration)
	log           *slog.Logger
	// idFilterRefused: Defender answered 400 to an id $filter once, so
	// ListMachineActionsByID asks per id for the client's lifetime.
	idFilterRefused atomic.Bool
}

const (
	// attemptTimeout bounds one API attempt, body included.
	attemptTimeout = 2 * time.Minute
	// maxAPIBody bounds an API answer held in memory (device lists can be long).
	maxAPIBody = 32 << 20
	// maxErrorBody bounds an error body read for its Defender error object.
	maxErrorBody = 64 << 10
	// defaultRetryAfter applies when a 429 carries no usable Retry-After.
	defaultRetryAfter = 60 * time.Second
	// maxRetryAfterHeader caps a Retry-After: Defender's windows are at most an
	// hour, and a bogus value must not turn into "retry in decades".
	maxRetryAfterHeader = time.Hour
	maxBackoff          = 30 * time.Second
)

// New checks o and returns a Client.
func New(o Options) (*Client, error) {
	if o.BaseURL == "" {
		return nil, errors.New("mde: BaseURL is required (see Endpoints)")
	}
	if err := CheckBaseURL(o.BaseURL); err != nil {
		return nil, err
	}
	hosts := o.DownloadHosts
	if hosts == nil {
		hosts = DefaultDownloadHosts()
	}
	if err := checkHostPatterns(hosts); err != nil {
		return nil, err
	}
	if o.MaxPackageSize < 0 {
		return nil, fmt.Errorf("mde: MaxPackageSize %d is negative", o.MaxPackageSize)
	}
	c := &Client{
		base:          strings.TrimRight(o.BaseURL, "/"),
		downloadHosts: append([]string(nil), hosts...),
		maxPackage:    o.MaxPackageSize,
		retries:       o.Retries,
		backoff:       o.BackoffBase,
		maxRetryAfter: o.MaxRetryAfter,
		observe:       o.Observe,
		log:           o.Logger,
	}
	if c.maxPackage == 0 {
		c.maxPackage = 1 << 30
	}
	switch {
	case c.retries == 0:
		c.retries = 3
	case c.retries < 0:
		c.retries = 0
	}
	if c.backoff <= 0 {
		c.backoff = 500 * time.Millisecond
	}
	if c.maxRetryAfter == 0 {
		c.maxRetryAfter = 10 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	api, dl := *hc, *hc
	api.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	dl.CheckRedirect = c.checkRedirect
	c.api, c.download = &api, &dl
	return c, nil
}

func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}}
}

// transportError marks a failure before any HTTP status arrived: retryable.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// apiReply is one complete API answer.
type apiReply struct {
	status int
	body   []byte
}

// call makes an API request with retries (when retry is set) and returns a
// 2xx answer; anything else is an *Error (or the token source's error, or
// ctx's).
func (c *Client) call(ctx context.Context, ts TokenSource, endpoint, method, path, rawQuery string, body []byte, retry bool) (*apiReply, error) {
	target := c.base + path
	if rawQuery != "" {
		target += "?" + rawQuery
	}
	return withRetries(ctx, c, endpoint, retry, func(ctx context.Context) (*apiReply, error) {
		return c.callOnce(ctx, ts, endpoint, method, target, body)
	})
}

func (c *Client) callOnce(ctx context.Context, ts TokenSource, endpoint, method, target string, body []byte) (*apiReply, error) {
	token, err := ts.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("mde %s: getting the requester's token: %w", endpoint, err)
	}
	if token == "" {
		return nil, fmt.Errorf("mde %s: the requester's token source gave an empty token", endpoint)
	}
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("mde %s: building request: %w", endpoint, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.api.Do(req)
	if err != nil {
		c.seen(endpoint, 0, time.Since(start))
		return nil, &transportError{err}
	}
	defer resp.Body.Close()
	limit := int64(maxAPIBody)
	if resp.StatusCode/100 != 2 {
		limit = maxErrorBody
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	c.seen(endpoint, resp.StatusCode, time.Since(start))
	if err != nil {
		return nil, &transportError{fmt.Errorf("reading the answer: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		return nil, httpError(endpoint, resp.StatusCode, resp.Header, data)
	}
	if int64(len(data)) > limit {
		return nil, &Error{Kind: KindInvalidResponse, Endpoint: endpoint, HTTPStatus: resp.StatusCode,
			Message: fmt.Sprintf("answer larger than %d bytes", limit)}
	}
	return &apiReply{status: resp.StatusCode, body: data}, nil
}

func (c *Client) seen(endpoint string, status int, d time.Duration) {
	if c.observe != nil {
		c.observe(endpoint, status, d)
	}
}

// withRetries runs once until it succeeds, fails for good, or the retries
// are spent. Retried: transport failures, 5xx, and 429 whose Retry-After is
// at most MaxRetryAfter (slept exactly). ctx ends everything at once.
func withRetries[T any](ctx context.Context, c *Client, endpoint string, retry bool, once func(context.Context) (T, error)) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		v, err := once(ctx)
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return zero, fmt.Errorf("mde %s: %w", endpoint, ctx.Err())
		}
		var wait time.Duration
		var te *transportError
		var me *Error
		switch {
		case errors.As(err, &te):
			wait = c.backoffFor(attempt)
		case errors.As(err, &me) && me.HTTPStatus >= 500:
			wait = c.backoffFor(attempt)
		case errors.As(err, &me) && me.HTTPStatus == http.StatusTooManyRequests &&
			c.maxRetryAfter > 0 && me.RetryAfter <= c.maxRetryAfter:
			wait = me.RetryAfter
		default:
			return zero, err
		}
		if !retry || attempt >= c.retries {
			if te != nil {
				c.log.WarnContext(ctx, "mde call failed", "endpoint", endpoint, "attempts", attempt+1, "err", te.err)
				return zero, fmt.Errorf("%w: %w", &Error{Kind: KindServer, Endpoint: endpoint}, te.err)
			}
			c.log.WarnContext(ctx, "mde call failed", "endpoint", endpoint, "attempts", attempt+1, "err", err)
			return zero, err
		}
		c.log.DebugContext(ctx, "mde call retried", "endpoint", endpoint, "attempt", attempt+1, "wait", wait, "err", err)
		if err := sleep(ctx, wait); err != nil {
			return zero, fmt.Errorf("mde %s: %w", endpoint, err)
		}
	}
}

// backoffFor is the jittered exponential backoff before retry attempt+1:
// between half and all of BackoffBase*2^attempt, capped.
func (c *Client) backoffFor(attempt int) time.Duration {
	d := c.backoff << min(attempt, 16)
	if d <= 0 || d > maxBackoff {
		d = maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// defenderError is Defender's error body.
type defenderError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Target  string `json:"target"`
	} `json:"error"`
}

// httpError turns a non-2xx answer into an *Error.
func httpError(endpoint string, status int, h http.Header, body []byte) *Error {
	e := &Error{Endpoint: endpoint, HTTPStatus: status}
	var de defenderError
	if json.Unmarshal(body, &de) == nil {
		e.Code, e.Message, e.CorrelationID = de.Error.Code, de.Error.Message, de.Error.Target
	}
	switch {
	case status == http.StatusBadRequest && e.Code == "ActiveRequestAlreadyExists" && endpoint == endpointRunLiveResponse:
		e.Kind = KindSessionOpen
		e.Message = withDefenderSays("a live response session is already open on this device; wait for it to end", e.Message)
	case status == http.StatusBadRequest && e.Code == "ActiveRequestAlreadyExists":
		e.Kind = KindAlreadyRunning
	case status == http.StatusUnauthorized:
		e.Kind = KindUnauthorized
	case status == http.StatusForbidden && endpoint == endpointRunLiveResponse:
		e.Kind = KindForbidden
		e.Message = withDefenderSays("the analyst lacks Defender's live response permission (\"Live response capabilities\") "+
			"or access to the device's device group, or the sign-in lacks Machine.LiveResponse", e.Message)
	case status == http.StatusForbidden:
		e.Kind = KindForbidden
		e.Message = withDefenderSays("the analyst lacks the Defender role (\"Alerts investigation\") or access to the device's device group", e.Message)
	case status == http.StatusNotFound:
		e.Kind = KindNotFound
	case status == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = retryAfter(h.Get("Retry-After"), time.Now())
	case status >= 500:
		e.Kind = KindServer
	case status >= 400:
		e.Kind = KindBadRequest
	default:
		e.Kind = KindInvalidResponse
		if e.Message == "" {
			e.Message = fmt.Sprintf("unexpected HTTP status %d", status)
		}
	}
	return e
}

// withDefenderSays is our explanation followed by Defender's own message.
func withDefenderSays(ours, defender string) string {
	if defender == "" {
		return ours
	}
	return ours + "; Defender says: " + defender
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; absent or
// unreadable means defaultRetryAfter.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return defaultRetryAfter
	}
	if secs, err := strconv.ParseInt(v, 10, 32); err == nil {
		if secs < 0 {
			return defaultRetryAfter
		}
		return min(time.Duration(secs)*time.Second, maxRetryAfterHeader)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfterHeader)
	}
	return defaultRetryAfter
}

// decode parses a 2xx JSON answer into out.
func decode(endpoint string, r *apiReply, out any) error {
	if err := json.Unmarshal(r.body, out); err != nil {
		return &Error{Kind: KindInvalidResponse, Endpoint: endpoint, HTTPStatus: r.status,
			Message: fmt.Sprintf("answer is not the expected JSON: %v", err)}
	}
	return nil
}

// pathID path-escapes an already validated identifier anyway.
func pathID(id string) string { return url.PathEscape(id) }
