package identity

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Options configure a Service. Keys are the identity.* config keys.
type Options struct {
	TenantID, ClientID, ClientSecret string
	// Authority is the login host only, e.g. https://login.microsoftonline.com
	// (the default); the service appends /{TenantID}. Instance discovery is
	// turned off for hosts that are not Microsoft's (it would call Microsoft).
	Authority string
	// Flow is FlowAuthCode (default) or FlowDeviceCode.
	Flow string
	// RedirectURL is {http.public_url}/auth/callback (auth_code only).
	RedirectURL string
	// Scopes are the delegated scopes requested; DefaultScopes() when empty.
	// openid, profile and offline_access are dropped: they go to the
	// authorize URL only (MSAL adds them itself and fails if asked twice).
	Scopes            []string
	RequireEmailMatch bool
	// Key is the 32-byte AES-256-GCM key (store.encryption_key).
	Key   []byte
	Store Store
	// Emails gives the Slack profile email; required with RequireEmailMatch.
	Emails     EmailLookup
	HTTPClient *http.Client // passed to MSAL; nil for its default
	Logger     *slog.Logger
	Now        func() time.Time
	// StateTTL is how long an auth-code sign-in link stays valid (default 10m).
	StateTTL time.Duration
	// MaxPendingLogins bounds the device-code sign-ins waiting at once, all
	// users together (default 200; each user has at most one).
	MaxPendingLogins int
}

// DefaultScopes are the delegated MDE scopes (reference/mde-api.md):
// collection and package links, reading actions and devices, and live
// response (getfile); the same as config's identity.scopes default.
func DefaultScopes() []string {
	return []string{
		"https://api.securitycenter.microsoft.com/Machine.CollectForensics",
		"https://api.securitycenter.microsoft.com/Machine.Read",
		"https://api.securitycenter.microsoft.com/Machine.LiveResponse",
	}
}

// DefaultAuthority is the commercial cloud's login host.
const DefaultAuthority = "https://login.microsoftonline.com"

// microsoftHosts are the login hosts where MSAL instance discovery is kept on.
var microsoftHosts = map[string]bool{
	"login.microsoftonline.com": true,
	"login.microsoftonline.us":  true,
	"login.chinacloudapi.cn":    true,
	"login.microsoft.com":       true,
}

// oidcScopes belong to the authorize URL only.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true}

// settings are validated Options with defaults applied.
type settings struct {
	Options
	authority string // {host}/{tenant}
	discovery bool   // MSAL instance discovery
	scopes    []string
}

// validate checks o and reports every problem at once, naming the config key.
func validate(o Options) (settings, error) {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	switch strings.ToLower(strings.TrimSpace(o.TenantID)) {
	case "":
		add("identity.tenant_id is required")
	case "common", "organizations", "consumers":
		add("identity.tenant_id must be the tenant's ID, not %q (the bot checks every account's tenant)", o.TenantID)
	default:
		if strings.ContainsAny(o.TenantID, "/?#: ") {
			add("identity.tenant_id %q is not a tenant ID", o.TenantID)
		}
	}
	if o.ClientID == "" {
		add("identity.client_id is required")
	}
	if o.Flow == "" {
		o.Flow = FlowAuthCode
	}
	switch o.Flow {
	case FlowAuthCode:
		if o.ClientSecret == "" {
			add("identity.client_secret is required with identity.flow auth_code")
		}
		if u, err := url.Parse(o.RedirectURL); o.RedirectURL == "" || err != nil || !u.IsAbs() || u.Host == "" ||
			(u.Scheme != "https" && u.Scheme != "http") {
			add("the redirect URL (http.public_url + /auth/callback) must be an absolute http(s) URL with identity.flow auth_code")
		}
	case FlowDeviceCode:
	default:
		add("identity.flow must be %s or %s, not %q", FlowAuthCode, FlowDeviceCode, o.Flow)
	}

	host := strings.TrimRight(o.Authority, "/")
	if host == "" {
		host = DefaultAuthority
	}
	u, err := url.Parse(host)
	discovery := false
	switch {
	case err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "":
		add("identity.authority must be an https login host without a path, like %s, not %q", DefaultAuthority, o.Authority)
	default:
		discovery = microsoftHosts[strings.ToLower(u.Hostname())]
	}

	var scopes []string
	seen := map[string]bool{}
	for _, sc := range o.Scopes {
		sc = strings.TrimSpace(sc)
		if sc == "" || oidcScopes[strings.ToLower(sc)] || seen[strings.ToLower(sc)] {
			continue
		}
		if strings.ContainsAny(sc, " \t\n") {
			add("identity.scopes: %q contains white space", sc)
			continue
		}
		seen[strings.ToLower(sc)] = true
		scopes = append(scopes, sc)
	}
	if len(scopes) == 0 {
		if len(o.Scopes) > 0 {
			add("identity.scopes names no resource scope (openid, profile and offline_access are added by the bot)")
		}
		scopes = DefaultScopes()
	}

	if len(o.Key) != 32 {
		add("store.encryption_key must be 32 bytes (base64 of 32 random bytes), got %d bytes", len(o.Key))
	}
	if o.Store == nil {
		add("identity: a Store is required")
	}
	if o.RequireEmailMatch && o.Emails == nil {
		add("identity.require_email_match needs the Slack profile email lookup")
	}
	if o.StateTTL < 0 {
		add("identity: the sign-in state lifetime must not be negative")
	}
	if len(problems) > 0 {
		return settings{}, errors.New(strings.Join(problems, "\n"))
	}

	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.StateTTL == 0 {
		o.StateTTL = 10 * time.Minute
	}
	if o.MaxPendingLogins <= 0 {
		o.MaxPendingLogins = defaultMaxPendingLogins
	}
	return settings{Options: o, authority: host + "/" + o.TenantID, discovery: discovery, scopes: scopes}, nil
}
