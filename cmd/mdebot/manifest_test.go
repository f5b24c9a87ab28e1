package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mdebot/mdebot/bot"
)

// The manifest command needs only the keys the manifest uses to be valid:
// the Slack app, and so its tokens, do not exist yet when it is run.
func TestManifestCommand(t *testing.T) {
	type manifest struct {
		Features struct {
			SlashCommands []struct {
				Command, URL string
			} `yaml:"slash_commands"`
		}
		OAuthConfig struct {
			Scopes struct{ Bot []string }
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				RequestURL string `yaml:"request_url"`
			}
			SocketModeEnabled bool `yaml:"socket_mode_enabled"`
		}
	}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		code       int
		socket     bool
		command    string
		requestURL string // interactivity (and, with /slack/commands, the command URL)
		stderr     string // exact, when code != 0
	}{
		{name: "socket mode", args: []string{"--config", writeConfig(t, validYAML)}, socket: true, command: "/mde-package"},
		{
			name:    "http mode, other command",
			args:    []string{"--config", writeConfig(t, validYAML)},
			env:     map[string]string{"MDEBOT_SLACK_MODE": "http", "MDEBOT_SLACK_SIGNING_SECRET": "s3cret", "MDEBOT_SLACK_COMMAND": "/ir-package"},
			command: "/ir-package", requestURL: "https://mdebot.example.com",
		},
		{
			name: "example config: placeholders do not matter in socket mode",
			args: []string{"--config", "../../config.yaml"}, socket: true, command: "/mde-package",
		},
		{
			name:   "example config in http mode needs the public URL",
			args:   []string{"--config", "../../config.yaml"},
			env:    map[string]string{"MDEBOT_SLACK_MODE": "http"},
			code:   1,
			stderr: "http.public_url: placeholder value, fill it in (the https address where Slack and browsers reach this bot, e.g. https://mdebot.example.com)\n",
		},
		{
			name:   "http mode without a public URL (device code flow)",
			args:   []string{"--config", writeConfig(t, strings.Replace(validYAML, "  public_url: https://mdebot.example.com\n", "", 1))},
			env:    map[string]string{"MDEBOT_SLACK_MODE": "http", "MDEBOT_IDENTITY_FLOW": "device_code"},
			code:   1,
			stderr: "manifest: http mode needs http.public_url (Slack posts commands and clicks to it)\n",
		},
		{
			name: "bad command and mode", args: []string{"--config", writeConfig(t, validYAML)},
			env:    map[string]string{"MDEBOT_SLACK_COMMAND": "mde-package", "MDEBOT_SLACK_MODE": "rtm"},
			code:   1,
			stderr: "slack.mode: must be one of socket, http, got \"rtm\"\nslack.command: must start with '/', e.g. /mde-package\n",
		},
		{
			name: "undecodable value", args: []string{"--config", writeConfig(t, validYAML+"mde:\n  poll_interval: often\n")},
			code: 1, stderr: "mde.poll_interval: must be a Go duration such as 15s, 10m or 1h, got \"often\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runCLI(append([]string{"manifest"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if tt.code != 0 {
				if stdout != "" || stderr != tt.stderr {
					t.Fatalf("stdout %q, stderr %q; want no output and stderr %q", stdout, stderr, tt.stderr)
				}
				return
			}
			if stderr != "" {
				t.Errorf("stderr %q, want nothing", stderr)
			}
			var m manifest
			if err := yaml.Unmarshal([]byte(stdout), &m); err != nil {
				t.Fatalf("stdout is not YAML: %v\n%s", err, stdout)
			}
			if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != tt.command {
				t.Errorf("slash commands %+v, want one: %s", m.Features.SlashCommands, tt.command)
			}
			if m.Settings.SocketModeEnabled != tt.socket {
				t.Errorf("socket_mode_enabled %v, want %v", m.Settings.SocketModeEnabled, tt.socket)
			}
			wantCmdURL, wantClickURL := "", ""
			if tt.requestURL != "" {
				wantCmdURL, wantClickURL = tt.requestURL+"/slack/commands", tt.requestURL+"/slack/interactivity"
			}
			if len(m.Features.SlashCommands) == 1 && m.Features.SlashCommands[0].URL != wantCmdURL {
				t.Errorf("command url %q, want %q", m.Features.SlashCommands[0].URL, wantCmdURL)
			}
			if m.Settings.Interactivity.RequestURL != wantClickURL {
				t.Errorf("interactivity request_url %q, want %q", m.Settings.Interactivity.RequestURL, wantClickURL)
			}
			if !slices.Equal(m.OAuthConfig.Scopes.Bot, bot.BotScopes()) {
				t.Errorf("bot scopes %v, want %v", m.OAuthConfig.Scopes.Bot, bot.BotScopes())
			}
			if got := strings.Contains(stdout, "connections:write"); got != tt.socket {
				t.Errorf("mentions connections:write: %v, want %v", got, tt.socket)
			}
		})
	}
}

func TestManifestCommandMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.yaml")
	code, stdout, stderr := runCLI("manifest", "--config", missing)
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, "manifest: read config file "+missing) {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and an error naming the file", code, stdout, stderr)
	}
}

// slack.features shapes the manifest: events, App Home, the step's
// function and the shortcut only when enabled; an unknown one is refused.
func TestManifestCommandFeatures(t *testing.T) {
	tests := []struct {
		name, features string
		code           int
		want, absent   []string
		stderr         string
	}{
		{"default: all", "", 0, []string{"home_tab_enabled: true", "app_home_opened", "function_executed", "collect_investigation_package:", "mde_package_from_message", "org_deploy_enabled: true"}, nil, ""},
		{"app home only", "app_home", 0, []string{"home_tab_enabled: true", "app_home_opened"}, []string{"function_executed", "functions:", "shortcuts:", "org_deploy_enabled: true"}, ""},
		{"shortcut only", "message_shortcut", 0, []string{"mde_package_from_message"}, []string{"event_subscriptions", "functions:"}, ""},
		{"unknown", "app_home, workflow", 1, nil, nil, "slack.features: entry 1 (\"workflow\") must be one of app_home, workflow_step, message_shortcut\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.features != "" {
				t.Setenv("MDEBOT_SLACK_FEATURES", tt.features)
			}
			code, stdout, stderr := runCLI("manifest", "--config", writeConfig(t, validYAML))
			if code != tt.code || (tt.code != 0 && stderr != tt.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d, %q", code, stderr, tt.code, tt.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("manifest lacks %q:\n%s", w, stdout)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(stdout, a) {
					t.Errorf("manifest has %q:\n%s", a, stdout)
				}
			}
		})
	}
}
