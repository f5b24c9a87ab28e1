package bot

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// methodScopes maps each Web API method this package calls with the bot
// token to the bot scopes it needs. It is the single source of the
// manifest's scopes; manifest_test.go proves it matches the calls the code
// makes, both ways.
var methodScopes = map[string][]string{
	"auth.test":                    nil,
	"chat.postMessage":             {"chat:write"},
	"chat.postEphemeral":           {"chat:write"},
	"chat.update":                  {"chat:write"},
	"conversations.open":           {"im:write"},
	"users.info":                   {"users:read", "users:read.email"}, // the email is what identity checks
	"usergroups.users.list":        {"usergroups:read"},
	"conversations.info":           {"channels:read", "groups:read"}, // groups:read for private channels
	"files.getUploadURLExternal":   {"files:write"},
	"files.completeUploadExternal": {"files:write"},
}

// appMethodScopes are the methods called with the app-level token (Socket
// Mode only). App-level scopes are not part of a manifest: they are chosen
// when the token is created.
var appMethodScopes = map[string][]string{
	"apps.connections.open": {AppTokenScope},
}

// AppTokenScope is the scope of the app-level token Socket Mode needs.
const AppTokenScope = "connections:write"

// commandScope lets the app own a slash command.
const commandScope = "commands"

// UsageHint is the slash command's usage hint: the grammar of DESIGN.md.
const UsageHint = "<action-id> | collect <host> [comment] | status <id> | login | logout | whoami | help"

// BotScopes returns the bot token scopes the code needs, sorted: the slash
// command's and those of every Web API method called with the bot token.
func BotScopes() []string {
	scopes := []string{commandScope}
	for _, s := range methodScopes {
		scopes = append(scopes, s...)
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// ManifestOptions are the settings a manifest depends on.
type ManifestOptions struct {
	Mode      string // "socket" or "http"
	Command   string // the slash command, e.g. /mde-package
	PublicURL string // http mode: https base of /slack/commands and /slack/interactivity
}

// The Slack app manifest (schema v1), only the fields mdebot sets. Field
// order is the order Slack's own exports use.
type manifest struct {
	Metadata    manifestMetadata `yaml:"_metadata"`
	Display     manifestDisplay  `yaml:"display_information"`
	Features    manifestFeatures `yaml:"features"`
	OAuthConfig manifestOAuth    `yaml:"oauth_config"`
	Settings    manifestSettings `yaml:"settings"`
}

type manifestMetadata struct {
	MajorVersion int `yaml:"major_version"`
	MinorVersion int `yaml:"minor_version"`
}

type manifestDisplay struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

type manifestFeatures struct {
	AppHome       manifestAppHome        `yaml:"app_home"`
	BotUser       manifestBotUser        `yaml:"bot_user"`
	SlashCommands []manifestSlashCommand `yaml:"slash_commands"`
}

// manifestAppHome keeps the Messages tab: links and results are also sent
// as DMs, which users read there. Read-only: the bot reads no messages.
type manifestAppHome struct {
	HomeTabEnabled             bool `yaml:"home_tab_enabled"`
	MessagesTabEnabled         bool `yaml:"messages_tab_enabled"`
	MessagesTabReadOnlyEnabled bool `yaml:"messages_tab_read_only_enabled"`
}

type manifestBotUser struct {
	DisplayName  string `yaml:"display_name"`
	AlwaysOnline bool   `yaml:"always_online"`
}

type manifestSlashCommand struct {
	Command      string `yaml:"command"`
	URL          string `yaml:"url,omitempty"` // http mode only
	Description  string `yaml:"description"`
	UsageHint    string `yaml:"usage_hint"`
	ShouldEscape bool   `yaml:"should_escape"`
}

type manifestOAuth struct {
	Scopes manifestScopes `yaml:"scopes"`
}

type manifestScopes struct {
	Bot []string `yaml:"bot"`
}

type manifestSettings struct {
	Interactivity        manifestInteractivity `yaml:"interactivity"`
	OrgDeployEnabled     bool                  `yaml:"org_deploy_enabled"`
	SocketModeEnabled    bool                  `yaml:"socket_mode_enabled"`
	TokenRotationEnabled bool                  `yaml:"token_rotation_enabled"`
}

type manifestInteractivity struct {
	IsEnabled  bool   `yaml:"is_enabled"`
	RequestURL string `yaml:"request_url,omitempty"` // http mode only
}

// Manifest renders the Slack app manifest (YAML) for o. Comments at the top
// say how to use it and, in Socket Mode, which app-level token to create;
// the output stays valid YAML.
func Manifest(o ManifestOptions) ([]byte, error) {
	if !strings.HasPrefix(o.Command, "/") || len(o.Command) < 2 || strings.ContainsAny(o.Command, " \t\r\n") {
		return nil, fmt.Errorf("manifest: slash command must be one word after '/', got %q", o.Command)
	}
	m := manifest{
		Metadata: manifestMetadata{MajorVersion: 1, MinorVersion: 1},
		Display: manifestDisplay{
			Name:        "mdebot",
			Description: "Fetches Defender for Endpoint investigation packages as the analyst who asks.",
		},
		Features: manifestFeatures{
			AppHome: manifestAppHome{MessagesTabEnabled: true, MessagesTabReadOnlyEnabled: true},
			BotUser: manifestBotUser{DisplayName: "mdebot"},
			SlashCommands: []manifestSlashCommand{{
				Command:     o.Command,
				Description: "Get a Defender for Endpoint investigation package",
				UsageHint:   UsageHint,
			}},
		},
		OAuthConfig: manifestOAuth{Scopes: manifestScopes{Bot: BotScopes()}},
		Settings:    manifestSettings{Interactivity: manifestInteractivity{IsEnabled: true}},
	}
	var head strings.Builder
	head.WriteString("# Slack app manifest for mdebot (api.slack.com/apps > Create New App > From a manifest).\n")
	switch o.Mode {
	case "socket":
		m.Settings.SocketModeEnabled = true
		fmt.Fprintf(&head, "# Socket Mode: after creating the app, make an app-level token with the %s\n", AppTokenScope)
		head.WriteString("# scope (Basic Information > App-Level Tokens) and set it as slack.app_token.\n")
	case "http":
		base, err := publicBase(o.PublicURL)
		if err != nil {
			return nil, err
		}
		m.Features.SlashCommands[0].URL = base + "/slack/commands"
		m.Settings.Interactivity.RequestURL = base + "/slack/interactivity"
	default:
		return nil, fmt.Errorf("manifest: mode must be socket or http, got %q", o.Mode)
	}
	var body bytes.Buffer
	enc := yaml.NewEncoder(&body)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return append([]byte(head.String()), body.Bytes()...), nil
}

// publicBase checks the public URL Slack will post to (https, no query) and
// returns it without a trailing slash.
func publicBase(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("manifest: http mode needs http.public_url (Slack posts commands and clicks to it)")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", errors.New("manifest: http.public_url must be an absolute https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("manifest: http.public_url must not have a query string or fragment")
	}
	return strings.TrimRight(raw, "/"), nil
}
