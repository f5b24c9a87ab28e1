package config

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	guidRE      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	teamIDRE    = regexp.MustCompile(`^[TE][A-Z0-9]+$`)
	principalRE = regexp.MustCompile(`^[UWS][A-Z0-9]+$`) // user (U, W) or user group (S)
)

// Enumerations of DESIGN.md.
var (
	slackModes = []string{"socket", "http"}
	clouds     = []string{"commercial", "gcc", "gcc-high", "dod"}
	regions    = []string{"us", "eu", "uk", "au", "swa"}
	flows      = []string{"auth_code", "device_code"}
	drivers    = []string{"sqlite", "postgres"}
	deliveries = []string{"link", "link_in_channel", "upload"}
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"json", "text"}
	features   = []string{FeatureAppHome, FeatureWorkflowStep, FeatureMessageShortcut}
	// MSAL adds these itself and fails with "declined scopes" when given them.
	reservedScopes = []string{"openid", "profile", "offline_access"}
)

// checker collects problems; keys still holding a placeholder get only the
// placeholder problem, not every rule the placeholder also breaks.
type checker struct {
	problems    Problems
	placeholder map[string]bool
}

func (k *checker) add(key, format string, args ...any) {
	if k.placeholder[key] {
		return
	}
	k.problems = append(k.problems, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

// Validate reports every problem at once: placeholders still to fill in,
// then each broken rule, one Problem per key and rule. nil means valid.
func (c *Config) Validate() Problems {
	k := &checker{placeholder: map[string]bool{}}
	for _, p := range placeholders(c) {
		k.placeholder[p.Key] = true
		k.problems = append(k.problems, p)
	}
	c.validateSlack(k)
	c.validateHTTP(k)
	c.validateMDE(k)
	c.validateIdentity(k)
	c.validateStore(k)
	c.validateEvidence(k)
	c.validatePolicy(k)
	oneOf(k, "log.level", c.Log.Level, logLevels)
	oneOf(k, "log.format", c.Log.Format, logFormats)
	if len(k.problems) == 0 {
		return nil
	}
	return k.problems
}

func (c *Config) validateSlack(k *checker) {
	s := c.Slack
	oneOf(k, "slack.mode", s.Mode, slackModes)
	// Token problems never quote the token.
	switch {
	case s.BotToken == "":
		k.add("slack.bot_token", "required (a bot token, xoxb-…)")
	case !strings.HasPrefix(s.BotToken, "xoxb-"):
		k.add("slack.bot_token", "must be a bot token starting with xoxb-")
	}
	switch {
	case s.Mode == "socket" && s.AppToken == "":
		k.add("slack.app_token", "required in socket mode (an app-level token with connections:write, xapp-…)")
	case s.AppToken != "" && !strings.HasPrefix(s.AppToken, "xapp-"):
		k.add("slack.app_token", "must be an app-level token starting with xapp-")
	}
	if s.Mode == "http" && s.SigningSecret == "" {
		k.add("slack.signing_secret", "required in http mode (Basic Information > Signing Secret)")
	}
	if msg := checkURL(s.APIURL, urlRules{anyHTTP: true, path: true}); msg != "" {
		k.add("slack.api_url", "%s", msg)
	} else if !strings.HasSuffix(s.APIURL, "/") {
		k.add("slack.api_url", "must end with '/' (method names are appended), e.g. https://slack.com/api/")
	}
	switch {
	case !strings.HasPrefix(s.Command, "/"):
		k.add("slack.command", "must start with '/', e.g. /mde-package")
	case len(s.Command) < 2 || strings.ContainsAny(s.Command, " \t\n"):
		k.add("slack.command", "must be one word after '/', e.g. /mde-package")
	}
	if len(s.CallbackHosts) == 0 {
		k.add("slack.callback_hosts", "must list at least one host (Slack's are hooks.slack.com, files.slack.com, files-edge.slack.com)")
	}
	for i, h := range s.CallbackHosts {
		if msg := checkHostPattern(h); msg != "" {
			k.add("slack.callback_hosts", "entry %d (%q) %s", i, h, msg)
		}
	}
	for i, f := range s.Features {
		if !slices.Contains(features, f) {
			k.add("slack.features", "entry %d (%q) must be one of %s", i, f, strings.Join(features, ", "))
		}
	}
	for i, t := range s.AllowedTeams {
		if !teamIDRE.MatchString(t) {
			k.add("slack.allowed_teams", "entry %d (%q) is not a Slack workspace ID (T…) or organization ID (E…)", i, t)
		}
	}
}

func (c *Config) validateHTTP(k *checker) {
	h := c.HTTP
	if _, port, err := net.SplitHostPort(h.Listen); err != nil {
		k.add("http.listen", "must be host:port or :port, e.g. :8080")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		k.add("http.listen", "port must be a number from 0 to 65535")
	}
	if h.AdminListen != "" {
		if _, _, err := net.SplitHostPort(h.AdminListen); err != nil {
			k.add("http.admin_listen", "must be host:port or :port, e.g. 127.0.0.1:9090, or empty")
		} else if h.AdminListen == h.Listen {
			k.add("http.admin_listen", "must differ from http.listen (leave it empty to serve everything on http.listen)")
		}
	}
	for key, d := range map[string]time.Duration{"http.read_timeout": h.ReadTimeout, "http.write_timeout": h.WriteTimeout, "http.idle_timeout": h.IdleTimeout} {
		if d < time.Second {
			k.add(key, "must be at least 1s, got %s", d)
		}
	}
	if h.PublicURL == "" {
		if c.Identity.Flow == "auth_code" {
			k.add("http.public_url", "required when identity.flow is auth_code (the sign-in redirect is {http.public_url}/auth/callback)")
		}
		return
	}
	if msg := checkURL(h.PublicURL, urlRules{path: true}); msg != "" {
		k.add("http.public_url", "%s", msg)
	} else if strings.HasSuffix(h.PublicURL, "/") {
		k.add("http.public_url", "must not end with '/' (routes such as /auth/callback are appended)")
	}
}

func (c *Config) validateMDE(k *checker) {
	m := c.MDE
	oneOf(k, "mde.cloud", m.Cloud, clouds)
	if m.Region != "" {
		if m.Cloud != "commercial" {
			k.add("mde.region", "only applies to mde.cloud commercial (leave it empty for %s)", m.Cloud)
		} else if !slices.Contains(regions, m.Region) {
			k.add("mde.region", "must be empty (global host) or one of %s, got %q", strings.Join(regions, ", "), m.Region)
		}
	}
	if m.BaseURL != "" {
		if msg := checkURL(m.BaseURL, urlRules{path: true}); msg != "" {
			k.add("mde.base_url", "%s", msg)
		}
	}
	if len(m.DownloadHosts) == 0 {
		k.add("mde.download_hosts", "must list at least one host pattern (no package could be fetched)")
	}
	for i, h := range m.DownloadHosts {
		if msg := checkHostPattern(h); msg != "" {
			k.add("mde.download_hosts", "entry %d (%q) %s", i, h, msg)
		}
	}
	if m.PollInterval < time.Second {
		k.add("mde.poll_interval", "must be at least 1s, got %s", m.PollInterval)
	}
	if m.WaitTimeout <= m.PollInterval {
		k.add("mde.wait_timeout", "must be longer than mde.poll_interval (%s), got %s", m.PollInterval, m.WaitTimeout)
	}
	if m.PackageURILimit.PerMinute < 1 {
		k.add("mde.package_uri_limit.per_minute", "must be at least 1, got %d", m.PackageURILimit.PerMinute)
	}
	if m.PackageURILimit.PerHour < 1 {
		k.add("mde.package_uri_limit.per_hour", "must be at least 1, got %d", m.PackageURILimit.PerHour)
	}
	if m.LiveResponseLimit.PerMinute < 1 {
		k.add("mde.live_response_limit.per_minute", "must be at least 1, got %d", m.LiveResponseLimit.PerMinute)
	}
	if m.LiveResponseLimit.PerHour < 1 {
		k.add("mde.live_response_limit.per_hour", "must be at least 1, got %d", m.LiveResponseLimit.PerHour)
	}
	if m.MaxPackageSize <= 0 {
		k.add("mde.max_package_size", "must be more than 0 bytes, got %d", m.MaxPackageSize)
	}
}

func (c *Config) validateIdentity(k *checker) {
	id := c.Identity
	if !guidRE.MatchString(id.TenantID) {
		k.add("identity.tenant_id", "must be the directory (tenant) ID, a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47")
	}
	if !guidRE.MatchString(id.ClientID) {
		k.add("identity.client_id", "must be the application (client) ID, a GUID")
	}
	oneOf(k, "identity.flow", id.Flow, flows)
	if id.Flow == "auth_code" && id.ClientSecret == "" {
		k.add("identity.client_secret", "required when identity.flow is auth_code (a client secret of the app registration)")
	}
	if id.Authority != "" {
		if msg := checkURL(id.Authority, urlRules{rootSlash: true}); msg != "" {
			k.add("identity.authority", "%s", msg)
		}
	}
	if len(id.Scopes) == 0 {
		k.add("identity.scopes", "must list the delegated Defender scopes, e.g. %s and %s", ScopeCollectForensics, ScopeMachineRead)
	}
	for i, s := range id.Scopes {
		switch {
		case strings.TrimSpace(s) == "":
			k.add("identity.scopes", "entry %d is empty", i)
		case slices.Contains(reservedScopes, strings.ToLower(s)):
			k.add("identity.scopes", "entry %d (%s) must be left out: MSAL adds openid, profile and offline_access itself", i, s)
		}
	}
}

func (c *Config) validateStore(k *checker) {
	s := c.Store
	oneOf(k, "store.driver", s.Driver, drivers)
	// The DSN may hold a password: messages never quote it.
	switch s.Driver {
	case "sqlite":
		path, _, _ := strings.Cut(strings.TrimPrefix(s.DSN, "file:"), "?")
		if !strings.HasPrefix(s.DSN, "file:") || path == "" {
			k.add("store.dsn", "must be file:PATH for sqlite, e.g. file:mdebot.db or file:/data/mdebot.db")
		}
	case "postgres":
		if !strings.HasPrefix(s.DSN, "postgres://") && !strings.HasPrefix(s.DSN, "postgresql://") && !strings.Contains(s.DSN, "=") {
			k.add("store.dsn", "must be a PostgreSQL URL (postgres://user@host:5432/db) or key=value DSN for postgres")
		}
	}
	if s.RequestRetention < 0 {
		k.add("store.request_retention", "must be 0 (keep forever) or more, got %s", s.RequestRetention)
	} else if s.RequestRetention > 0 && s.RequestRetention < time.Hour {
		k.add("store.request_retention", "must be 0 (keep forever) or at least 1h, got %s", s.RequestRetention)
	}
	if s.AuditRetention < 0 {
		k.add("store.audit_retention", "must be 0 (keep forever) or more, got %s", s.AuditRetention)
	} else if s.AuditRetention > 0 && s.AuditRetention < 24*time.Hour {
		k.add("store.audit_retention", "must be 0 (keep forever) or at least 24h, got %s", s.AuditRetention)
	}
	if s.EncryptionKey == "" {
		k.add("store.encryption_key", "required: base64 of 32 random bytes that encrypt token caches (generate one with: openssl rand -base64 32)")
	} else if _, err := decodeKey(s.EncryptionKey); err != nil {
		k.add("store.encryption_key", "must be base64 of 32 bytes (generate one with: openssl rand -base64 32)")
	}
}

func oneOf(k *checker, key, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		k.add(key, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
	}
}
