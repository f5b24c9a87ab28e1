package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestMain drops MDEBOT_* variables of the developer's shell so that they
// cannot change what check-config sees.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "MDEBOT_") && !strings.HasPrefix(name, "MDEBOT_TEST_") {
			os.Unsetenv(name)
		}
	}
	os.Exit(m.Run())
}

const validYAML = `
slack:
  bot_token: xoxb-1-test
  app_token: xapp-1-test
http:
  public_url: https://mdebot.example.com
identity:
  tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47
  client_id: 11111111-2222-3333-4444-555555555555
  client_secret: test-client-secret
store:
  encryption_key: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
policy:
  channels:
    - match: inc-*
      delivery: upload
      approval: {required: true, approvers: [S0LEADS]}
    - match: C0SOC
`

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderr     string
		stderrNone bool
	}{
		{name: "no command", args: nil, code: 2, stderr: "usage: mdebot <command>"},
		{name: "help", args: []string{"help"}, code: 0, stdout: "check-config  validate the configuration"},
		{name: "--help", args: []string{"--help"}, code: 0, stdout: "usage: mdebot <command>"},
		{name: "unknown", args: []string{"frobnicate"}, code: 2, stderr: "mdebot: unknown command \"frobnicate\"\n\nusage: mdebot <command>"},
		{name: "serve missing config", args: []string{"serve", "--config", "x.yaml"}, code: 1, stderr: "x.yaml"},
		{name: "audit negative", args: []string{"audit", "--since", "-2h"}, code: 2, stderr: "--since must not be negative"},
		{name: "audit bad duration", args: []string{"audit", "--since", "yesterday"}, code: 2, stderr: `invalid value "yesterday" for flag -since`},
		{name: "subcommand -h", args: []string{"check-config", "-h"}, code: 0, stderr: "usage: mdebot check-config [--config FILE] [--live]\n  -config string"},
		{name: "unknown flag", args: []string{"serve", "--verbose"}, code: 2, stderr: "flag provided but not defined: -verbose"},
		{name: "stray argument", args: []string{"check-config", "config.yaml"}, code: 2, stderr: `mdebot check-config: unexpected argument "config.yaml"`},
		{name: "version", args: []string{"version"}, code: 0, stdout: "mdebot dev\n", stderrNone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr: %s)", code, tt.code, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderr)
			}
			if tt.stderrNone && stderr != "" {
				t.Errorf("stderr %q, want nothing", stderr)
			}
		})
	}
}

func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stdout string
		lines  []string // exact stderr lines
	}{
		{name: "valid", args: []string{"--config", writeConfig(t, validYAML)}, code: 0, stdout: "ok: configuration is valid\n",
			lines: []string{"note: evidence.store is empty and store.driver is sqlite: file, in mdebot-evidence"}},
		{
			name: "valid, with a warning",
			args: []string{"--config", writeConfig(t, validYAML+"evidence:\n  store: none\n")},
			env:  map[string]string{"MDEBOT_IDENTITY_REQUIRE_EMAIL_MATCH": "false"},
			code: 0, stdout: "ok: configuration is valid\n",
			lines: []string{"note: evidence.store is none",
				"warning: identity.require_email_match: false: a Slack user could be linked to whichever Microsoft account opens her sign-in link; " +
					"each link then waits for a confirmation on the callback page that names the Slack user and workspace, but only the email match proves who signed in"},
		},
		{
			name:  "file evidence with replicas",
			args:  []string{"--config", writeConfig(t, validYAML+"evidence:\n  store: file\n")},
			env:   map[string]string{"MDEBOT_STORE_DRIVER": "postgres", "MDEBOT_STORE_DSN": "postgres://mdebot@db:5432/mdebot"},
			code:  1,
			lines: []string{"evidence.store: file keeps packages in a local folder, which replicas on postgres do not share: use azure_blob, or set evidence.dir_shared: true when evidence.dir is on storage every replica mounts"},
		},
		{
			name: "example config lists its placeholders",
			args: []string{"--config", "../../config.yaml"},
			code: 1,
			lines: []string{
				"slack.bot_token: placeholder value, fill it in (Slack app settings > OAuth & Permissions > Bot User OAuth Token, xoxb-…)",
				"slack.app_token: placeholder value, fill it in (Slack app settings > Basic Information > App-Level Tokens, scope connections:write, xapp-…)",
				"http.public_url: placeholder value, fill it in (the https address where Slack and browsers reach this bot, e.g. https://mdebot.example.com)",
				"identity.tenant_id: placeholder value, fill it in (Entra admin center > Overview > Tenant ID)",
				"identity.client_id: placeholder value, fill it in (Entra admin center > App registrations > your app > Application (client) ID)",
				"identity.client_secret: placeholder value, fill it in (Entra admin center > App registrations > your app > Certificates & secrets > client secret Value)",
				"store.encryption_key: placeholder value, fill it in (generate it once with: openssl rand -base64 32, and keep it)",
				"policy.channels[0].approval.approvers: placeholder value, fill it in (user group ID (S…) from the group's profile or user ID (U…) from a profile's menu > Copy member ID)",
				"policy.channels[1].match: placeholder value, fill it in (the channel ID (C…) from the channel's details, or a name glob such as inc-*)",
			},
		},
		{
			name: "environment fixes the example",
			args: []string{"--config", writeConfig(t, strings.Replace(validYAML, "  bot_token: xoxb-1-test\n", "  bot_token: REPLACE_ME\n", 1))},
			env:  map[string]string{"MDEBOT_SLACK_BOT_TOKEN": "xoxb-2-from-env"},
			code: 0, stdout: "ok: configuration is valid\n",
			lines: []string{"note: evidence.store is empty and store.driver is sqlite: file, in mdebot-evidence"},
		},
		{
			name: "several problems, one line each",
			args: []string{"--config", writeConfig(t, validYAML)},
			env:  map[string]string{"MDEBOT_SLACK_MODE": "http", "MDEBOT_LOG_FORMAT": "xml", "MDEBOT_STORE_DRIVER": "postgres"},
			code: 1,
			lines: []string{
				"slack.signing_secret: required in http mode (Basic Information > Signing Secret)",
				"store.dsn: must be a PostgreSQL URL (postgres://user@host:5432/db) or key=value DSN for postgres",
				`log.format: must be one of json, text, got "xml"`,
			},
		},
		{
			name:  "undecodable value",
			args:  []string{"--config", writeConfig(t, validYAML+"mde:\n  poll_interval: often\n")},
			code:  1,
			lines: []string{`mde.poll_interval: must be a Go duration such as 15s, 10m or 1h, got "often"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runCLI(append([]string{"check-config"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout, tt.stdout)
			}
			want := strings.Join(tt.lines, "\n")
			if len(tt.lines) > 0 {
				want += "\n"
			}
			if stderr != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
			}
		})
	}
}

func TestCheckConfigFiles(t *testing.T) {
	t.Run("explicit file missing", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "absent.yaml")
		code, _, stderr := runCLI("check-config", "--config", missing)
		if code != 1 || !strings.HasPrefix(stderr, "check-config: read config file "+missing) {
			t.Errorf("exit %d, stderr %q; want 1 and an error naming the file", code, stderr)
		}
	})
	t.Run("default file missing: environment only", func(t *testing.T) {
		t.Chdir(t.TempDir())
		for k, v := range map[string]string{
			"MDEBOT_SLACK_BOT_TOKEN":        "xoxb-1",
			"MDEBOT_SLACK_APP_TOKEN":        "xapp-1",
			"MDEBOT_HTTP_PUBLIC_URL":        "https://bot.example.com",
			"MDEBOT_IDENTITY_TENANT_ID":     "72f988bf-86f1-41af-91ab-2d7cd011db47",
			"MDEBOT_IDENTITY_CLIENT_ID":     "11111111-2222-3333-4444-555555555555",
			"MDEBOT_IDENTITY_CLIENT_SECRET": "s",
			"MDEBOT_STORE_ENCRYPTION_KEY":   "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
			"MDEBOT_POLICY_CHANNELS":        `[{"match":"inc-*"}]`,
		} {
			t.Setenv(k, v)
		}
		code, stdout, stderr := runCLI("check-config")
		if code != 0 || stdout != "ok: configuration is valid\n" {
			t.Errorf("exit %d, stdout %q, stderr %q; want 0 and ok", code, stdout, stderr)
		}
	})
	t.Run("broken YAML", func(t *testing.T) {
		code, _, stderr := runCLI("check-config", "--config", writeConfig(t, "slack: [\n"))
		if code != 1 || !strings.HasPrefix(stderr, "check-config: read config file") {
			t.Errorf("exit %d, stderr %q; want 1 and a read error", code, stderr)
		}
	})
}

func TestVersionText(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
	}}
	tests := []struct {
		name, version string
		info          *debug.BuildInfo
		want          string
	}{
		{"no build info", "dev", nil, "mdebot dev\n"},
		{"ldflags version with VCS", "1.2.3", info, "mdebot 1.2.3\ngo: go1.26.8\ncommit: 0123abcd (modified) 2026-01-02T03:04:05Z\n"},
		{"go install version", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.4.0"}}, "mdebot v0.4.0\ngo: go1.26.8\n"},
	}
	for _, tt := range tests {
		if got := versionText(tt.version, tt.info); got != tt.want {
			t.Errorf("%s: versionText = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// The built binary: exit codes reach the shell and -X main.version works.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "mdebot")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=9.8.7", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		args   []string
		code   int
		output string
	}{
		{[]string{"version"}, 0, "mdebot 9.8.7\n"},
		{[]string{"check-config", "--config", writeConfig(t, validYAML)}, 0, "ok: configuration is valid"},
		{[]string{"check-config", "--config", "../../config.yaml"}, 1, "slack.bot_token: placeholder value"},
		{[]string{"serve", "--config", "../../config.yaml"}, 1, "slack.bot_token: placeholder value"},
		{[]string{"nope"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		out, err := exec.Command(bin, tt.args...).CombinedOutput()
		code := 0
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if code != tt.code || !strings.Contains(string(out), tt.output) {
			t.Errorf("mdebot %v: exit %d, output %q; want %d and %q", tt.args, code, out, tt.code, tt.output)
		}
	}
}
