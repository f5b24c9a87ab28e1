package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/mde"
)

// DefaultCallbackHosts are Slack's hosts for response_url and upload_url
// (the default of slack.callback_hosts). A fresh slice each call.
func DefaultCallbackHosts() []string {
	return []string{"hooks.slack.com", "files.slack.com", "files-edge.slack.com"}
}

// ErrCallbackRefused: a response_url or upload_url names a host outside
// slack.callback_hosts (or is not https). It was not contacted.
var ErrCallbackRefused = errors.New("not a Slack callback host (slack.callback_hosts)")

// callbackHosts are the only hosts the bot posts a reply or a file to on
// Slack's say-so. A leaked signing secret then lets a forger point the bot
// at Slack only: no blind SSRF, no private package link sent elsewhere.
type callbackHosts []string

func newCallbackHosts(hosts []string) callbackHosts {
	if len(hosts) == 0 {
		return DefaultCallbackHosts()
	}
	return callbackHosts(hosts)
}

// check returns nil when raw may be contacted: https (http only on a
// loopback host), no user info, its host in the list (exact or *.suffix).
// The error names the host only: the path and query are the credential.
func (h callbackHosts) check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("callback URL does not parse as an absolute URL: %w", ErrCallbackRefused)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("callback URL on %s uses %q, not https: %w", u.Host, u.Scheme, ErrCallbackRefused)
	}
	if u.User != nil {
		return fmt.Errorf("callback URL on %s carries user info: %w", u.Host, ErrCallbackRefused)
	}
	if !mde.MatchHost(h, u.Host) {
		return fmt.Errorf("callback host %s: %w", u.Host, ErrCallbackRefused)
	}
	return nil
}

// callbackHost is the host of a callback URL, for logs ("" when it has none).
func callbackHost(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}

func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// postResponseURL posts msg privately to a Slack response_url once hosts
// allow it. The URL is not logged or put in errors: it lets anyone post
// into the channel for 30 minutes.
func postResponseURL(ctx context.Context, client *http.Client, hosts callbackHosts, responseURL string, msg handlers.Message) error {
	if responseURL == "" {
		return errors.New("no response_url")
	}
	if err := hosts.check(responseURL); err != nil {
		return fmt.Errorf("response_url: %w", err)
	}
	body, err := json.Marshal(responseURLReply(msg))
	if err != nil {
		return fmt.Errorf("response_url: encoding message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return errors.New("response_url: invalid URL")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	c := *client // a redirect must land on an allowed host too
	c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		return hosts.check(r.URL.String())
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("response_url: %w", withoutURL(err))
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("response_url: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(text))
	}
	return nil
}

// withoutURL drops the URL from an HTTP client error: response and upload
// URLs are short-lived credentials and must not reach logs.
func withoutURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s: %w", uerr.Op, uerr.Err)
	}
	return err
}
