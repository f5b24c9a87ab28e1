package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestMain drops MDEBOT_* variables of the developer's shell so that they
// cannot leak into Load; tests set their own with t.Setenv.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "MDEBOT_") && !strings.HasPrefix(name, "MDEBOT_TEST_") {
			os.Unsetenv(name)
		}
	}
	os.Exit(m.Run())
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mdebot.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaults(t *testing.T) {
	for _, path := range []string{"", writeFile(t, "# nothing set\n")} {
		c, err := Load(path)
		if err != nil {
			t.Fatalf("Load(%q): %v", path, err)
		}
		want := &Config{
			Slack: Slack{Mode: "socket", APIURL: "https://slack.com/api/", Command: "/mde-package",
				CallbackHosts: []string{"hooks.slack.com", "files.slack.com", "files-edge.slack.com"},
				Features:      []string{"app_home", "workflow_step", "message_shortcut"}},
			HTTP: HTTP{Listen: ":8080", ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute},
			MDE: MDE{
				Cloud:             "commercial",
				DownloadHosts:     []string{"*.securitycenter.windows.com", "*.securitycenter.windows.us", "*.blob.core.windows.net"},
				PollInterval:      15 * time.Second,
				WaitTimeout:       time.Hour,
				PackageURILimit:   PackageURIRate{PerMinute: 2, PerHour: 120},
				LiveResponseLimit: PackageURIRate{PerMinute: 10, PerHour: 600},
				MaxPackageSize:    1 << 30,
			},
			Identity: Identity{
				Flow:              "auth_code",
				RequireEmailMatch: true,
				Scopes: []string{
					"https://api.securitycenter.microsoft.com/Machine.CollectForensics",
					"https://api.securitycenter.microsoft.com/Machine.Read",
					"https://api.securitycenter.microsoft.com/Machine.LiveResponse",
				},
			},
			Store:    Store{Driver: "sqlite", DSN: "file:mdebot.db"},
			Evidence: Evidence{LinkTTL: 10 * time.Minute, Retention: 720 * time.Hour},
			Triage:   Triage{MaxEntries: 10000, MaxUncompressed: 4 << 30},
			Policy:   Policy{MaxPendingPerUser: 5},
			Log:      Log{Level: "info", Format: "json"},
		}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("Load(%q) =\n%+v\nwant\n%+v", path, c, want)
		}
		if got := Defaults(); !reflect.DeepEqual(got, want) {
			t.Errorf("Defaults() =\n%+v\nwant\n%+v", got, want)
		}
	}
}

func TestLoadChannelDefaults(t *testing.T) {
	c, err := Load(writeFile(t, "policy:\n  channels:\n    - match: inc-*\n    - match: C123\n      delivery: upload\n      approval: {required: true, approvers: [S1AB], required_approvals: 2, expires_after: 10m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []ChannelPolicy{
		{Match: "inc-*", Delivery: "link", Approval: Approval{RequiredApprovals: 1, ExpiresAfter: time.Hour, RequiredFor: AllRequestKinds}},
		{Match: "C123", Delivery: "upload", Approval: Approval{Required: true, Approvers: []string{"S1AB"}, RequiredApprovals: 2, ExpiresAfter: 10 * time.Minute, RequiredFor: AllRequestKinds}},
	}
	if !reflect.DeepEqual(c.Policy.Channels, want) {
		t.Errorf("channels = %+v, want %+v", c.Policy.Channels, want)
	}
}

func TestLoadEnvOverrides(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		got  func(*Config) any
		want any
	}{
		{"scalar", map[string]string{"MDEBOT_SLACK_SIGNING_SECRET": "s3cr3t-value"}, func(c *Config) any { return c.Slack.SigningSecret }, "s3cr3t-value"},
		{"nested scalar", map[string]string{"MDEBOT_MDE_PACKAGE_URI_LIMIT_PER_HOUR": "60"}, func(c *Config) any { return c.MDE.PackageURILimit.PerHour }, 60},
		{"bool", map[string]string{"MDEBOT_IDENTITY_REQUIRE_EMAIL_MATCH": "false"}, func(c *Config) any { return c.Identity.RequireEmailMatch }, false},
		{"list", map[string]string{"MDEBOT_SLACK_ALLOWED_TEAMS": "T1, T2"}, func(c *Config) any { return c.Slack.AllowedTeams }, []string{"T1", "T2"}},
		{"list replaces default", map[string]string{"MDEBOT_MDE_DOWNLOAD_HOSTS": "127.0.0.1"}, func(c *Config) any { return c.MDE.DownloadHosts }, []string{"127.0.0.1"}},
		{"duration", map[string]string{"MDEBOT_MDE_POLL_INTERVAL": "90s"}, func(c *Config) any { return c.MDE.PollInterval }, 90 * time.Second},
		{"size with unit", map[string]string{"MDEBOT_MDE_MAX_PACKAGE_SIZE": "500MiB"}, func(c *Config) any { return c.MDE.MaxPackageSize }, int64(500 << 20)},
		{"size in bytes", map[string]string{"MDEBOT_MDE_MAX_PACKAGE_SIZE": "1000"}, func(c *Config) any { return c.MDE.MaxPackageSize }, int64(1000)},
		{"key without default", map[string]string{"MDEBOT_IDENTITY_AUTHORITY": "https://127.0.0.1:8443"}, func(c *Config) any { return c.Identity.Authority }, "https://127.0.0.1:8443"},
		{
			"JSON policy",
			map[string]string{"MDEBOT_POLICY_CHANNELS": `[{"match":"inc-*","delivery":"upload","approval":{"required":true,"approvers":["S0G1"],"expires_after":"30m"}},{"match":"C0ABC"}]`},
			func(c *Config) any { return c.Policy.Channels },
			[]ChannelPolicy{
				{Match: "inc-*", Delivery: "upload", Approval: Approval{Required: true, Approvers: []string{"S0G1"}, RequiredApprovals: 1, ExpiresAfter: 30 * time.Minute, RequiredFor: AllRequestKinds}},
				{Match: "C0ABC", Delivery: "link", Approval: Approval{RequiredApprovals: 1, ExpiresAfter: time.Hour, RequiredFor: AllRequestKinds}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load("")
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.got(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// Every key of Config is reachable through its environment variable.
func TestLoadEnvEveryKey(t *testing.T) {
	for _, key := range keyPaths(reflect.TypeFor[Config](), "", false) {
		t.Run(key, func(t *testing.T) {
			value := map[string]string{
				"policy.channels":                    `[{"match":"env-*"}]`,
				"mde.poll_interval":                  "7s",
				"mde.wait_timeout":                   "7m",
				"mde.max_package_size":               "7",
				"mde.package_uri_limit.per_minute":   "7",
				"mde.package_uri_limit.per_hour":     "7",
				"identity.require_email_match":       "false",
				"mde.live_response_limit.per_minute": "7",
				"mde.live_response_limit.per_hour":   "7",
				"http.read_timeout":                  "7s",
				"http.write_timeout":                 "7s",
				"http.idle_timeout":                  "7s",
				"store.request_retention":            "7h",
				"store.audit_retention":              "7h",
				"evidence.dir_shared":                "true",
				"evidence.link_ttl":                  "7m",
				"evidence.retention":                 "7h",
				"triage.max_entries":                 "7",
				"triage.max_uncompressed":            "7MiB",
				"policy.max_pending_per_user":        "7",
			}[key]
			if value == "" {
				value = "from-env"
			}
			t.Setenv(EnvVar(key), value)
			c, err := Load(writeFile(t, "log: {level: debug}\n"))
			if err != nil {
				t.Fatal(err)
			}
			d := Defaults()
			if reflect.DeepEqual(c, d) {
				t.Errorf("%s=%s changed nothing", EnvVar(key), value)
			}
		})
	}
}

func TestLoadPrecedence(t *testing.T) {
	path := writeFile(t, `
slack:
  command: /from-file
  allowed_teams: [TFILE]
mde:
  poll_interval: 20s
log:
  level: debug
`)
	t.Setenv("MDEBOT_SLACK_COMMAND", "/from-env")
	t.Setenv("MDEBOT_MDE_POLL_INTERVAL", "30s")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key       string
		got, want any
	}{
		{"slack.command (env over file)", c.Slack.Command, "/from-env"},
		{"mde.poll_interval (env over file)", c.MDE.PollInterval, 30 * time.Second},
		{"slack.allowed_teams (file)", c.Slack.AllowedTeams, []string{"TFILE"}},
		{"log.level (file over default)", c.Log.Level, "debug"},
		{"log.format (default)", c.Log.Format, "json"},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.key, ch.got, ch.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(explicit missing file) error = %v, want one naming the file", err)
	}
	// The default path may be missing: run in a directory without config.yaml.
	t.Chdir(t.TempDir())
	t.Setenv("MDEBOT_LOG_LEVEL", "warn")
	c, err := Load(DefaultPath)
	if err != nil {
		t.Fatalf("Load(DefaultPath) without the file: %v", err)
	}
	if c.Log.Level != "warn" {
		t.Errorf("log.level = %q, want the environment's warn", c.Log.Level)
	}
}

func TestLoadBadYAML(t *testing.T) {
	_, err := Load(writeFile(t, "slack: [unclosed\n"))
	if err == nil {
		t.Fatal("Load accepted broken YAML")
	}
	var ps Problems
	if errors.As(err, &ps) {
		t.Errorf("broken YAML came back as Problems %v, want a parse error", ps)
	}
}

func TestLoadDecodeProblems(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want []string // exact lines of the error
	}{
		{"bad duration in file", "mde:\n  poll_interval: soon\n", nil,
			[]string{`mde.poll_interval: must be a Go duration such as 15s, 10m or 1h, got "soon"`}},
		{"number without unit as duration", "mde:\n  wait_timeout: 60\n", nil,
			[]string{`mde.wait_timeout: must be a Go duration such as 15s, 10m or 1h, got the number 60`}},
		{"word for a number", "mde:\n  package_uri_limit:\n    per_minute: two\n", nil,
			[]string{`mde.package_uri_limit.per_minute: must be an integer, got "two"`}},
		{"bad bool from env", "", map[string]string{"MDEBOT_IDENTITY_REQUIRE_EMAIL_MATCH": "maybe"},
			[]string{`identity.require_email_match: must be true or false, got "maybe"`}},
		{"bad size", "mde:\n  max_package_size: 1 bucket\n", nil,
			[]string{`mde.max_package_size: must be a size in bytes (1073741824) or with a unit (1GiB, 500MiB, 100MB), got "1 bucket"`}},
		{"bad JSON policy", "", map[string]string{"MDEBOT_POLICY_CHANNELS": `[{"match": }]`},
			[]string{`policy.channels: must be a JSON list of mappings: invalid character '}' looking for beginning of value`}},
		{"list for a string", "slack:\n  bot_token: [a, b]\n", nil,
			[]string{`slack.bot_token: must be a string, got a list`}},
		{"scalar for a section", "store: sqlite\n", nil,
			[]string{`store: must be a mapping with the keys driver, dsn, encryption_key, request_retention, audit_retention`}},
		{"unknown keys", "slack:\n  bot_tokn: x\npolicy:\n  channels:\n    - match: inc-*\n      aproval: {required: true}\n", nil,
			[]string{
				`slack.bot_tokn: unknown key (allowed here: allowed_teams, api_url, app_token, bot_token, callback_hosts, command, features, mode, signing_secret)`,
				`policy.channels[0].aproval: unknown key (allowed here: allow_external, approval, delivery, match)`,
			}},
		{"several at once", "mde:\n  poll_interval: x\n  wait_timeout: y\nlog:\n  level: [debug]\n", nil,
			[]string{
				`mde.poll_interval: must be a Go duration such as 15s, 10m or 1h, got "x"`,
				`mde.wait_timeout: must be a Go duration such as 15s, 10m or 1h, got "y"`,
				`log.level: must be a string, got a list`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load(writeFile(t, tt.file))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Load error = %v (config %+v), want Problems", err, c)
			}
			if got := strings.Split(ps.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1073741824", 1 << 30, false},
		{"1GiB", 1 << 30, false},
		{"500MiB", 500 << 20, false},
		{"100MB", 100_000_000, false},
		{"64 KiB", 64 << 10, false},
		{"2gib", 2 << 30, false},
		{"10B", 10, false},
		{"1TB", 1_000_000_000_000, false},
		{"", 0, true},
		{"GiB", 0, true},
		{"1.5GiB", 0, true},
		{"-1", 0, true},
		{"12 parsecs", 0, true},
		{"99999999999TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
