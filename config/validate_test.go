package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes

// validConfig is a complete, valid configuration in socket mode.
func validConfig() *Config {
	c := Defaults()
	c.Slack.BotToken = "xoxb-1-abc"
	c.Slack.AppToken = "xapp-1-abc"
	c.HTTP.PublicURL = "https://mdebot.example.com"
	c.Identity.TenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	c.Identity.ClientID = "11111111-2222-3333-4444-555555555555"
	c.Identity.ClientSecret = "client-secret-value"
	c.Store.EncryptionKey = testKey
	c.Policy.Channels = []ChannelPolicy{
		{Match: "inc-*", Delivery: "upload", Approval: Approval{Required: true, Approvers: []string{"S0LEADS"}, RequiredApprovals: 1, ExpiresAfter: time.Hour}},
		{Match: "C0SOC", Delivery: "link", Approval: Approval{RequiredApprovals: 1, ExpiresAfter: time.Hour}},
	}
	return c
}

func TestValidateValid(t *testing.T) {
	variants := map[string]func(*Config){
		"socket mode": func(*Config) {},
		"http mode":   func(c *Config) { c.Slack.Mode, c.Slack.AppToken, c.Slack.SigningSecret = "http", "", "sign" },
		"device code": func(c *Config) { c.Identity.Flow, c.Identity.ClientSecret, c.HTTP.PublicURL = "device_code", "", "" },
		"loopback http URLs": func(c *Config) {
			c.MDE.BaseURL, c.Identity.Authority, c.HTTP.PublicURL = "http://127.0.0.1:9000", "http://localhost:8443/", "http://[::1]:8080"
		},
		"regional commercial":  func(c *Config) { c.MDE.Region = "eu" },
		"gcc-high":             func(c *Config) { c.MDE.Cloud = "gcc-high" },
		"postgres":             func(c *Config) { c.Store.Driver, c.Store.DSN = "postgres", "postgres://postgres@127.0.0.1:5432/test" },
		"postgres key=value":   func(c *Config) { c.Store.Driver, c.Store.DSN = "postgres", "host=db user=mdebot" },
		"exact download hosts": func(c *Config) { c.MDE.DownloadHosts = []string{"127.0.0.1", "localhost", "::1", "files.example.com"} },
		"teams and requesters": func(c *Config) {
			c.Slack.AllowedTeams, c.Policy.Requesters = []string{"T0AB", "E0CD"}, []string{"U0A", "W0B", "S0C"}
		},
		"glob with class":    func(c *Config) { c.Policy.Channels[0].Match = "inc-[0-9]*" },
		"text logs at debug": func(c *Config) { c.Log.Level, c.Log.Format = "debug", "text" },
		"two of two approvers": func(c *Config) {
			c.Policy.Channels[0].Approval = Approval{Required: true, Approvers: []string{"U1", "U2"}, RequiredApprovals: 2, ExpiresAfter: time.Minute}
		},
		"public URL with path": func(c *Config) { c.HTTP.PublicURL = "https://example.com/mdebot" },
		"sqlite absolute path": func(c *Config) { c.Store.DSN = "file:/data/mdebot.db?_pragma=busy_timeout(5000)" },
	}
	for name, mutate := range variants {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			mutate(c)
			if ps := c.Validate(); ps != nil {
				t.Errorf("Validate() = %v, want no problems", ps)
			}
		})
	}
}

// Each rule: the mutation breaks exactly one key, reported once with a
// message containing want.
func TestValidateRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string
		want   string
	}{
		{"slack mode enum", func(c *Config) { c.Slack.Mode = "rtm" }, "slack.mode", `must be one of socket, http, got "rtm"`},
		{"bot token required", func(c *Config) { c.Slack.BotToken = "" }, "slack.bot_token", "required"},
		{"bot token prefix", func(c *Config) { c.Slack.BotToken = "xoxp-user" }, "slack.bot_token", "starting with xoxb-"},
		{"app token required in socket mode", func(c *Config) { c.Slack.AppToken = "" }, "slack.app_token", "required in socket mode"},
		{"app token prefix", func(c *Config) { c.Slack.AppToken = "xoxb-wrong" }, "slack.app_token", "starting with xapp-"},
		{"signing secret in http mode", func(c *Config) { c.Slack.Mode = "http" }, "slack.signing_secret", "required in http mode"},
		{"api url absolute", func(c *Config) { c.Slack.APIURL = "slack.com/api/" }, "slack.api_url", "absolute URL"},
		{"api url trailing slash", func(c *Config) { c.Slack.APIURL = "https://slack.com/api" }, "slack.api_url", "must end with '/'"},
		{"command slash", func(c *Config) { c.Slack.Command = "mde-package" }, "slack.command", "must start with '/'"},
		{"command one word", func(c *Config) { c.Slack.Command = "/mde package" }, "slack.command", "one word"},
		{"allowed teams IDs", func(c *Config) { c.Slack.AllowedTeams = []string{"acme"} }, "slack.allowed_teams", `entry 0 ("acme") is not a Slack workspace ID`},
		{"listen address", func(c *Config) { c.HTTP.Listen = "8080" }, "http.listen", "host:port"},
		{"listen port", func(c *Config) { c.HTTP.Listen = ":http-alt" }, "http.listen", "port must be a number"},
		{"public url for auth_code", func(c *Config) { c.HTTP.PublicURL = "" }, "http.public_url", "required when identity.flow is auth_code"},
		{"public url https", func(c *Config) { c.HTTP.PublicURL = "http://mdebot.example.com" }, "http.public_url", "must use https"},
		{"public url absolute", func(c *Config) { c.HTTP.PublicURL = "/mdebot" }, "http.public_url", "absolute URL"},
		{"public url trailing slash", func(c *Config) { c.HTTP.PublicURL = "https://mdebot.example.com/" }, "http.public_url", "must not end with '/'"},
		{"public url query", func(c *Config) { c.HTTP.PublicURL = "https://mdebot.example.com?x=1" }, "http.public_url", "query string"},
		{"cloud enum", func(c *Config) { c.MDE.Cloud = "azure" }, "mde.cloud", "must be one of commercial, gcc, gcc-high, dod"},
		{"region enum", func(c *Config) { c.MDE.Region = "mars" }, "mde.region", `got "mars"`},
		{"region only commercial", func(c *Config) { c.MDE.Cloud, c.MDE.Region = "gcc", "us" }, "mde.region", "only applies to mde.cloud commercial"},
		{"base url https", func(c *Config) { c.MDE.BaseURL = "http://api.example.com" }, "mde.base_url", "loopback"},
		{"base url 127/8 only", func(c *Config) { c.MDE.BaseURL = "http://128.0.0.1" }, "mde.base_url", "must use https"},
		{"base url scheme", func(c *Config) { c.MDE.BaseURL = "ftp://127.0.0.1" }, "mde.base_url", "must use https"},
		{"download hosts non-empty", func(c *Config) { c.MDE.DownloadHosts = nil }, "mde.download_hosts", "at least one"},
		{"download host with scheme", func(c *Config) { c.MDE.DownloadHosts = []string{"https://x.example.com"} }, "mde.download_hosts", "without scheme, port or path"},
		{"download host too broad", func(c *Config) { c.MDE.DownloadHosts = []string{"*.com"} }, "mde.download_hosts", "at least two labels"},
		{"download host inner star", func(c *Config) { c.MDE.DownloadHosts = []string{"a.*.example.com"} }, "mde.download_hosts", "exact host or a *.suffix"},
		{"download host case", func(c *Config) { c.MDE.DownloadHosts = []string{"Files.Example.com"} }, "mde.download_hosts", "lower case"},
		{"poll interval", func(c *Config) { c.MDE.PollInterval = 500 * time.Millisecond }, "mde.poll_interval", "at least 1s"},
		{"wait timeout", func(c *Config) { c.MDE.WaitTimeout = 15 * time.Second }, "mde.wait_timeout", "longer than mde.poll_interval"},
		{"per minute", func(c *Config) { c.MDE.PackageURILimit.PerMinute = 0 }, "mde.package_uri_limit.per_minute", "at least 1"},
		{"per hour", func(c *Config) { c.MDE.PackageURILimit.PerHour = -1 }, "mde.package_uri_limit.per_hour", "at least 1"},
		{"max package size", func(c *Config) { c.MDE.MaxPackageSize = 0 }, "mde.max_package_size", "more than 0"},
		{"tenant GUID", func(c *Config) { c.Identity.TenantID = "contoso.onmicrosoft.com" }, "identity.tenant_id", "GUID"},
		{"client GUID", func(c *Config) { c.Identity.ClientID = "" }, "identity.client_id", "GUID"},
		{"client secret for auth_code", func(c *Config) { c.Identity.ClientSecret = "" }, "identity.client_secret", "required when identity.flow is auth_code"},
		{"flow enum", func(c *Config) { c.Identity.Flow = "implicit" }, "identity.flow", "must be one of auth_code, device_code"},
		{"authority https", func(c *Config) { c.Identity.Authority = "http://login.example.com" }, "identity.authority", "must use https"},
		{"authority no path", func(c *Config) { c.Identity.Authority = "https://login.microsoftonline.com/common" }, "identity.authority", "without a path"},
		{"authority absolute", func(c *Config) { c.Identity.Authority = "login.microsoftonline.com" }, "identity.authority", "absolute URL"},
		{"scopes non-empty", func(c *Config) { c.Identity.Scopes = nil }, "identity.scopes", "must list the delegated Defender scopes"},
		{"scopes reserved", func(c *Config) { c.Identity.Scopes = append(c.Identity.Scopes, "offline_access") }, "identity.scopes", "entry 3 (offline_access) must be left out"},
		{"scopes empty entry", func(c *Config) { c.Identity.Scopes = []string{" "} }, "identity.scopes", "entry 0 is empty"},
		{"driver enum", func(c *Config) { c.Store.Driver = "mysql" }, "store.driver", "must be one of sqlite, postgres"},
		{"sqlite dsn file:", func(c *Config) { c.Store.DSN = "mdebot.db" }, "store.dsn", "must be file:PATH"},
		{"sqlite dsn path", func(c *Config) { c.Store.DSN = "file:" }, "store.dsn", "must be file:PATH"},
		{"postgres dsn", func(c *Config) { c.Store.Driver, c.Store.DSN = "postgres", "file:mdebot.db" }, "store.dsn", "PostgreSQL URL"},
		{"encryption key required", func(c *Config) { c.Store.EncryptionKey = "" }, "store.encryption_key", "required"},
		{"encryption key length", func(c *Config) { c.Store.EncryptionKey = "c2hvcnQ=" }, "store.encryption_key", "must be base64 of 32 bytes"},
		{"encryption key base64", func(c *Config) { c.Store.EncryptionKey = "not base64 at all!" }, "store.encryption_key", "must be base64 of 32 bytes"},
		{"channels required", func(c *Config) { c.Policy.Channels = nil }, "policy.channels", "at least one"},
		{"match required", func(c *Config) { c.Policy.Channels[1].Match = "" }, "policy.channels[1].match", "required"},
		{"match hash", func(c *Config) { c.Policy.Channels[0].Match = "#inc-*" }, "policy.channels[0].match", "without '#'"},
		{"match shape", func(c *Config) { c.Policy.Channels[0].Match = "Incidents" }, "policy.channels[0].match", "channel ID (C…, G…) or a channel name glob"},
		{"match bad glob", func(c *Config) { c.Policy.Channels[0].Match = "inc-[" }, "policy.channels[0].match", "not a valid glob"},
		{"delivery enum", func(c *Config) { c.Policy.Channels[1].Delivery = "email" }, "policy.channels[1].delivery", "must be one of link, link_in_channel, upload"},
		{"approvers when required", func(c *Config) { c.Policy.Channels[0].Approval.Approvers = nil }, "policy.channels[0].approval.approvers", "must list approvers"},
		{"approver IDs", func(c *Config) { c.Policy.Channels[0].Approval.Approvers = []string{"S0LEADS", "@alice"} }, "policy.channels[0].approval.approvers", `entry 1 ("@alice") is not a Slack user`},
		{"required approvals", func(c *Config) { c.Policy.Channels[1].Approval.RequiredApprovals = 0 }, "policy.channels[1].approval.required_approvals", "at least 1"},
		{"required approvals reachable", func(c *Config) {
			c.Policy.Channels[0].Approval.Approvers, c.Policy.Channels[0].Approval.RequiredApprovals = []string{"U1"}, 2
		}, "policy.channels[0].approval.required_approvals", "only 1 approvers"},
		{"expires after", func(c *Config) { c.Policy.Channels[0].Approval.ExpiresAfter = 0 }, "policy.channels[0].approval.expires_after", "more than 0"},
		{"requester IDs", func(c *Config) { c.Policy.Requesters = []string{"alice"} }, "policy.requesters", "is not a Slack user"},
		{"log level", func(c *Config) { c.Log.Level = "trace" }, "log.level", "must be one of debug, info, warn, error"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", "must be one of json, text"},
		{"placeholder", func(c *Config) { c.Identity.TenantID = "REPLACE_ME" }, "identity.tenant_id", "placeholder value, fill it in (Entra admin center > Overview > Tenant ID)"},
		{"placeholder in list", func(c *Config) { c.Policy.Channels[0].Approval.Approvers = []string{"REPLACE_ME"} }, "policy.channels[0].approval.approvers", "placeholder value, fill it in (user group ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			ps := c.Validate()
			if len(ps) != 1 || ps[0].Key != tt.key || !strings.Contains(ps[0].Message, tt.want) {
				t.Fatalf("Validate() =\n%v\nwant one problem for %s containing %q", ps, tt.key, tt.want)
			}
			if line := ps.Error(); line != tt.key+": "+ps[0].Message || strings.Contains(line, "\n") {
				t.Errorf("Error() = %q, want one line %q", line, tt.key+": "+ps[0].Message)
			}
		})
	}
}

func TestValidateSeveralProblemsAtOnce(t *testing.T) {
	c := validConfig()
	c.Slack.BotToken = "xoxp-secret-user-token"
	c.MDE.PollInterval = 0
	c.Store.EncryptionKey = "c2hvcnQ="
	c.Log.Format = "xml"
	ps := c.Validate()
	lines := strings.Split(ps.Error(), "\n")
	var keys []string
	for _, l := range lines {
		key, _, _ := strings.Cut(l, ": ")
		keys = append(keys, key)
	}
	want := []string{"slack.bot_token", "mde.poll_interval", "store.encryption_key", "log.format"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("problem lines:\n%s\nwant one line each for %v", ps.Error(), want)
	}
	// Secret values are never echoed in problems.
	for _, secret := range []string{"xoxp-secret-user-token", "c2hvcnQ="} {
		if strings.Contains(ps.Error(), secret) {
			t.Errorf("problems reveal the secret %q:\n%s", secret, ps.Error())
		}
	}
}

// A placeholder is reported once, not also as a bad GUID, token or key.
func TestValidatePlaceholderOnly(t *testing.T) {
	c := validConfig()
	c.Slack.BotToken = "REPLACE_ME"
	c.Identity.TenantID = "REPLACE_ME"
	c.Store.EncryptionKey = "REPLACE_ME"
	got := c.Validate()
	want := Problems{
		{"slack.bot_token", "placeholder value, fill it in (Slack app settings > OAuth & Permissions > Bot User OAuth Token, xoxb-…)"},
		{"identity.tenant_id", "placeholder value, fill it in (Entra admin center > Overview > Tenant ID)"},
		{"store.encryption_key", "placeholder value, fill it in (generate it once with: openssl rand -base64 32, and keep it)"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Validate() =\n%v\nwant\n%v", got, want)
	}
}

// config.yaml is valid except for its placeholders, each of which is listed.
func TestExampleConfigListsPlaceholders(t *testing.T) {
	c, err := Load("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range c.Validate() {
		if !strings.HasPrefix(p.Message, "placeholder value, fill it in (") {
			t.Errorf("config.yaml has a problem besides placeholders: %v", p)
		}
		keys = append(keys, p.Key)
	}
	want := []string{
		"slack.bot_token", "slack.app_token", "http.public_url",
		"identity.tenant_id", "identity.client_id", "identity.client_secret",
		"store.encryption_key",
		"policy.channels[0].approval.approvers", "policy.channels[1].match",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("placeholders reported for %v, want %v", keys, want)
	}
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(raw)) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			n += strings.Count(line, Placeholder)
		}
	}
	if n != len(want) {
		t.Errorf("config.yaml holds %d placeholders, %d reported", n, len(want))
	}
}

func TestLoginAuthority(t *testing.T) {
	tests := []struct {
		cloud, authority, want string
	}{
		{"commercial", "", "https://login.microsoftonline.com"},
		{"gcc", "", "https://login.microsoftonline.com"},
		{"gcc-high", "", "https://login.microsoftonline.us"},
		{"dod", "", "https://login.microsoftonline.us"},
		{"dod", "https://127.0.0.1:8443/", "https://127.0.0.1:8443"},
	}
	for _, tt := range tests {
		c := Config{MDE: MDE{Cloud: tt.cloud}, Identity: Identity{Authority: tt.authority}}
		if got := c.LoginAuthority(); got != tt.want {
			t.Errorf("LoginAuthority(cloud %s, authority %q) = %q, want %q", tt.cloud, tt.authority, got, tt.want)
		}
	}
}

func TestEncryptionKey(t *testing.T) {
	c := validConfig()
	key, err := c.EncryptionKey()
	if err != nil || string(key) != "0123456789abcdef0123456789abcdef" {
		t.Errorf("EncryptionKey() = %q, %v", key, err)
	}
	c.Store.EncryptionKey = "REPLACE_ME"
	if _, err := c.EncryptionKey(); err == nil || strings.Contains(err.Error(), "REPLACE_ME") {
		t.Errorf("EncryptionKey(placeholder) error = %v, want one that does not quote the value", err)
	}
}

// The defaults alone name exactly the keys an operator must set.
func TestValidateDefaultsNameRequiredKeys(t *testing.T) {
	var keys []string
	for _, p := range Defaults().Validate() {
		keys = append(keys, p.Key)
	}
	want := []string{
		"slack.bot_token", "slack.app_token", "http.public_url",
		"identity.tenant_id", "identity.client_id", "identity.client_secret",
		"store.encryption_key", "policy.channels",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("Defaults().Validate() keys = %v, want %v", keys, want)
	}
	// The zero Config (nothing loaded) is reported, not a panic.
	if ps := (&Config{}).Validate(); len(ps) < len(want) {
		t.Errorf("zero Config: only %d problems: %v", len(ps), ps)
	}
}
