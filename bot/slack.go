package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/identity"
)

// SlackOptions configures the Web API client.
type SlackOptions struct {
	BotToken string // xoxb-..., required
	AppToken string // xapp-..., needed for Socket Mode only
	// APIURL is the Web API base; default https://slack.com/api/.
	APIURL     string
	HTTPClient *http.Client
	Logger     *slog.Logger
	// CacheTTL bounds how stale channel facts (name, sharing), group members
	// and user flags (guest, bot) may be; default 1 minute.
	CacheTTL time.Duration
	// CallbackHosts are the only hosts a response_url or upload_url may
	// name (slack.callback_hosts); default DefaultCallbackHosts().
	CallbackHosts []string
}

// maxAttempts bounds calls answered with HTTP 429 (the first try included).
const maxAttempts = 3

// Slack is the Web API side: messages, uploads, directory lookups.
type Slack struct {
	client   *slack.Client
	http     *http.Client
	log      *slog.Logger
	appToken string
	botToken string // for calls slack-go does not make (functions.go)
	apiURL   string // with a trailing slash, for the calls slack-go lacks (functions.go)
	hosts    callbackHosts
	channels *ttlCache[Conversation]
	groups   *ttlCache[[]string]
	users    *ttlCache[Member]
}

var (
	_ handlers.Messenger   = (*Slack)(nil)
	_ handlers.Directory   = (*Slack)(nil)
	_ handlers.Functions   = (*Slack)(nil)
	_ identity.EmailLookup = (*Slack)(nil)
)

// NewSlack builds the client; it makes no call (see AuthTest).
func NewSlack(o SlackOptions) (*Slack, error) {
	if !strings.HasPrefix(o.BotToken, "xoxb-") {
		return nil, errors.New("slack.bot_token must be a bot token (xoxb-...)")
	}
	if o.AppToken != "" && !strings.HasPrefix(o.AppToken, "xapp-") {
		return nil, errors.New("slack.app_token must be an app-level token (xapp-...)")
	}
	if o.APIURL == "" {
		o.APIURL = slack.APIURL
	}
	u, err := url.Parse(o.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("slack.api_url %q is not an http(s) URL", o.APIURL)
	}
	if !strings.HasSuffix(o.APIURL, "/") {
		o.APIURL += "/" // slack-go appends the method name
	}
	if o.HTTPClient == nil {
		o.HTTPClient = defaultHTTPClient()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = time.Minute
	}
	opts := []slack.Option{slack.OptionAPIURL(o.APIURL), slack.OptionHTTPClient(o.HTTPClient)}
	if o.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(o.AppToken))
	}
	return &Slack{
		client:   slack.New(o.BotToken, opts...),
		http:     o.HTTPClient,
		log:      o.Logger,
		appToken: o.AppToken,
		botToken: o.BotToken,
		apiURL:   o.APIURL,
		hosts:    newCallbackHosts(o.CallbackHosts),
		channels: newTTLCache[Conversation](o.CacheTTL),
		groups:   newTTLCache[[]string](o.CacheTTL),
		users:    newTTLCache[Member](o.CacheTTL),
	}, nil
}

// defaultHTTPClient has no overall timeout (an upload may take minutes; the
// caller's context bounds it) but does not wait forever for a server.
func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}}
}

// AuthTest checks the bot token and returns its team and bot user.
func (s *Slack) AuthTest(ctx context.Context) (team, botUserID string, err error) {
	r, err := s.authTest(ctx)
	if err != nil {
		return "", "", err
	}
	return r.TeamID, r.UserID, nil
}

// Team returns the bot token's workspace: its ID and name (auth.test).
func (s *Slack) Team(ctx context.Context) (id, name string, err error) {
	r, err := s.authTest(ctx)
	if err != nil {
		return "", "", err
	}
	return r.TeamID, r.Team, nil
}

func (s *Slack) authTest(ctx context.Context) (*slack.AuthTestResponse, error) {
	var r *slack.AuthTestResponse
	err := s.call(ctx, "auth.test", func(ctx context.Context) error {
		var err error
		r, err = s.client.AuthTestContext(ctx)
		return err
	})
	return r, err
}

// call runs one Web API call, waiting out HTTP 429 (Retry-After, honouring
// ctx) up to maxAttempts, and names the method in the error.
func (s *Slack) call(ctx context.Context, method string, f func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			return nil
		}
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || attempt == maxAttempts {
			return fmt.Errorf("slack %s: %w", method, err)
		}
		s.log.Warn("slack rate limited; waiting", "method", method, "retry_after", rl.RetryAfter, "attempt", attempt)
		t := time.NewTimer(rl.RetryAfter)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("slack %s: rate limited and %w", method, ctx.Err())
		}
	}
}

// slackError is the Slack error code of err ("not_in_channel", ...), or "".
func slackError(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// AppTokenTest checks the app-level token with apps.connections.open, the
// call Socket Mode starts with. The WebSocket URL it returns holds a
// one-time ticket: it is neither opened nor returned.
func (s *Slack) AppTokenTest(ctx context.Context) error {
	if s.appToken == "" {
		return errors.New("slack apps.connections.open: no app-level token (slack.app_token)")
	}
	return s.call(ctx, "apps.connections.open", func(ctx context.Context) error {
		_, _, err := s.client.StartSocketModeContext(ctx)
		return err
	})
}
