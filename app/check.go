package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mdebot/mdebot/bot"
	"github.com/mdebot/mdebot/config"
	"github.com/mdebot/mdebot/mde"
	"github.com/mdebot/mdebot/store"
)

// DefaultCheckTimeout bounds each live check when CheckOptions leaves it unset.
const DefaultCheckTimeout = 10 * time.Second

// maxCheckBody caps what a check reads of an answer.
const maxCheckBody = 1 << 20

// minSecretLen is the shortest configured secret scrubbed from details:
// replacing a shorter one would mangle ordinary words, and no detail is
// built from a secret in the first place.
const minSecretLen = 6

// CheckResult is the outcome of one live check.
type CheckResult struct {
	Name   string // e.g. "slack auth.test", "entra", "defender", "database"
	OK     bool
	Detail string // what answered, or why it failed; never a secret
}

// String is the check's report line: "ok     name: detail" or "FAILED name: detail".
func (r CheckResult) String() string {
	status := "ok    "
	if !r.OK {
		status = "FAILED"
	}
	return status + " " + r.Name + ": " + r.Detail
}

// CheckOptions tune Check; the zero value is right for production.
type CheckOptions struct {
	// EntraClient fetches the authority's openid-configuration (tests: the
	// fake authority's TLS client). Default: trusts the system roots and SSL_CERT_FILE.
	EntraClient *http.Client
	// Timeout bounds each check; default DefaultCheckTimeout.
	Timeout time.Duration
}

// Check reaches every dependency of cfg once, as serve would, and reports
// one result per check, in a fixed order: Slack's bot token (auth.test), in
// Socket Mode the app-level token (apps.connections.open), the Entra
// authority's openid-configuration for the tenant, the Defender API base,
// and the database. The checks run concurrently. cfg should have passed
// Validate.
func Check(ctx context.Context, cfg *config.Config, o CheckOptions) []CheckResult {
	if o.Timeout <= 0 {
		o.Timeout = DefaultCheckTimeout
	}
	if o.EntraClient == nil {
		o.EntraClient = &http.Client{}
	}
	checks := []liveCheck{{"slack auth.test", checkBotToken}}
	if cfg.Slack.Mode == "socket" {
		checks = append(checks, liveCheck{"slack apps.connections.open", checkAppToken})
	}
	checks = append(checks, liveCheck{"entra", checkEntra}, liveCheck{"defender", checkDefender}, liveCheck{"database", checkDatabase})

	scrub := newScrubber(cfg)
	results := make([]CheckResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, o.Timeout)
			defer cancel()
			detail, err := c.run(cctx, cfg, o)
			r := CheckResult{Name: c.name, OK: err == nil, Detail: detail}
			if err != nil {
				r.Detail = err.Error()
				if errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
					r.Detail += fmt.Sprintf(" (no answer within %s)", o.Timeout)
				}
			}
			r.Detail = scrub(oneLine(strings.TrimPrefix(r.Detail, c.name+": ")))
			results[i] = r
		})
	}
	wg.Wait()
	return results
}

// oneLine joins a multi-line detail (pgx lists each address it tried) into
// the report's single line.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

// liveCheck is one check: run returns what answered, or why it failed.
type liveCheck struct {
	name string
	run  func(context.Context, *config.Config, CheckOptions) (string, error)
}

func newCheckSlack(cfg *config.Config) (*bot.Slack, error) {
	return bot.NewSlack(bot.SlackOptions{BotToken: cfg.Slack.BotToken, AppToken: cfg.Slack.AppToken, APIURL: cfg.Slack.APIURL})
}

// checkBotToken calls auth.test with the bot token.
func checkBotToken(ctx context.Context, cfg *config.Config, _ CheckOptions) (string, error) {
	s, err := newCheckSlack(cfg)
	if err != nil {
		return "", err
	}
	team, user, err := s.AuthTest(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("team %s as %s", team, user), nil
}

// checkAppToken calls apps.connections.open with the app-level token; no
// WebSocket is opened.
func checkAppToken(ctx context.Context, cfg *config.Config, _ CheckOptions) (string, error) {
	s, err := newCheckSlack(cfg)
	if err != nil {
		return "", err
	}
	if err := s.AppTokenTest(ctx); err != nil {
		return "", err
	}
	return "app-level token accepted (Socket Mode URL issued, not opened)", nil
}

// checkEntra fetches the tenant's openid-configuration: it must answer 200
// with JSON whose issuer names the tenant.
func checkEntra(ctx context.Context, cfg *config.Config, o CheckOptions) (string, error) {
	tenant := cfg.Identity.TenantID
	u := cfg.LoginAuthority() + "/" + url.PathEscape(tenant) + "/v2.0/.well-known/openid-configuration"
	status, body, err := get(ctx, o.EntraClient, u)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d%s", u, status, oauthError(body))
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("GET %s: 200 but not an openid-configuration document: %w", u, err)
	}
	if doc.Issuer == "" {
		return "", fmt.Errorf("GET %s: 200 but the document has no issuer", u)
	}
	if !strings.Contains(strings.ToLower(doc.Issuer), strings.ToLower(tenant)) {
		return "", fmt.Errorf("GET %s: issuer %s does not name tenant %s", u, doc.Issuer, tenant)
	}
	return "tenant " + tenant + " known, issuer " + doc.Issuer, nil
}

// oauthError renders an OAuth error body as ": code: description", or "".
// The description stops before the trace and correlation IDs Entra appends
// (on new lines, or after " Trace ID:").
func oauthError(body []byte) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return ""
	}
	out := ": " + e.Error
	d, _, _ := strings.Cut(strings.TrimSpace(e.Description), "\n")
	d, _, _ = strings.Cut(d, " Trace ID:")
	if d = strings.TrimSpace(d); d != "" {
		out += ": " + d
	}
	return out
}

// checkDefender asks the API base without a token: any HTTP answer below
// 500 (typically 401) shows it is reachable; 5xx or no answer is a failure.
func checkDefender(ctx context.Context, cfg *config.Config, _ CheckOptions) (string, error) {
	base := cfg.MDE.BaseURL
	if base == "" {
		c, err := mde.Endpoints(cfg.MDE.Cloud, cfg.MDE.Region)
		if err != nil {
			return "", err
		}
		base = c.APIBase
	}
	u := strings.TrimRight(base, "/") + "/api/machineactions"
	// A redirect is an answer too: report it rather than follow it.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status, _, err := get(ctx, client, u)
	if err != nil {
		return "", err
	}
	if status >= 500 {
		return "", fmt.Errorf("GET %s: %d %s", u, status, http.StatusText(status))
	}
	return fmt.Sprintf("GET %s: %d %s without a token (reachable)", u, status, http.StatusText(status)), nil
}

// get fetches u and returns the status and (capped) body. Errors read
// "GET url: reason" without Go's quoting of the URL.
func get(ctx context.Context, client *http.Client, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCheckBody))
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %d, reading the body: %w", u, resp.StatusCode, err)
	}
	return resp.StatusCode, body, nil
}

// checkDatabase opens the store exactly as serve does, which applies any
// pending migrations (and creates a missing SQLite file), then pings it.
func checkDatabase(ctx context.Context, cfg *config.Config, _ CheckOptions) (string, error) {
	where := cfg.Store.Driver + " " + safeDSN(cfg.Store.DSN)
	db, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN)
	if err != nil {
		return "", fmt.Errorf("%s: %w", where, err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		return "", fmt.Errorf("%s: %w", where, err)
	}
	return where + " answers (opened as serve does: migrations applied)", nil
}

// dsnPassword matches a password in a key=value DSN or a URL's query.
var dsnPassword = regexp.MustCompile(`(?i)(password=)('(?:[^'\\]|\\.)*'|[^\s&]+)`)

// safeDSN is the DSN without its password.
func safeDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			dsn = u.Redacted()
		}
	}
	return dsnPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// newScrubber returns a func removing every configured secret (and the
// DSN's password) from a detail: a second line of defence.
func newScrubber(cfg *config.Config) func(string) string {
	secrets := Secrets(cfg)
	if u, err := url.Parse(cfg.Store.DSN); err == nil && u.User != nil {
		if p, has := u.User.Password(); has {
			secrets = append(secrets, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	for _, m := range dsnPassword.FindAllStringSubmatch(cfg.Store.DSN, -1) {
		secrets = append(secrets, strings.Trim(m[2], "'"))
	}
	var pairs []string
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			pairs = append(pairs, s, "[REDACTED]")
		}
	}
	r := strings.NewReplacer(pairs...)
	return func(s string) string { return dsnPassword.ReplaceAllString(r.Replace(s), "${1}xxxxx") }
}
