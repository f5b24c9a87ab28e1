package bot

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mdebot/mdebot/handlers"
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
	// No scope: the Home tab needs features.app_home.home_tab_enabled instead.
	"views.publish": nil,
	// No scope; called with the step's own token (functions.go), the step
	// needs the manifest's functions section and the function_executed event.
	"functions.completeSuccess": nil,
	"functions.completeError":   nil,
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
const UsageHint = "<action-id> | collect <host> [comment] | status <id> | search <id> <term> | login | logout | whoami | help"

// BotScopes returns the bot token scopes the code needs, sorted: the slash
// command's, those of every Web API method called with the bot token, and
// those of the features given.
func BotScopes(features ...string) []string {
	scopes := []string{commandScope}
	for _, s := range methodScopes {
		scopes = append(scopes, s...)
	}
	for _, f := range features {
		scopes = append(scopes, featureScopes[f]...)
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// The Slack surfaces beyond the slash command (slack.features).
const (
	FeatureAppHome         = "app_home"
	FeatureWorkflowStep    = "workflow_step"
	FeatureMessageShortcut = "message_shortcut"
)

// featureScopes are the bot scopes a feature needs beyond the methods it
// calls: a shortcut needs commands (Slack lists it for shortcuts). App Home
// and the workflow step need none: a setting, an event and the manifest's
// functions section, with views.publish and functions.* (methodScopes).
var featureScopes = map[string][]string{
	FeatureMessageShortcut: {commandScope},
}

// ManifestOptions are the settings a manifest depends on.
type ManifestOptions struct {
	Mode      string // "socket" or "http"
	Command   string // the slash command, e.g. /mde-package
	PublicURL string // http mode: https base of /slack/commands, /slack/interactivity and /slack/events
	// Features are the surfaces enabled (slack.features); none when empty.
	Features []string
}

func (o ManifestOptions) has(feature string) bool { return slices.Contains(o.Features, feature) }

// The Slack app manifest (schema v1), only the fields mdebot sets. Field
// order is the order Slack's own exports use.
type manifest struct {
	Metadata    manifestMetadata `yaml:"_metadata"`
	Display     manifestDisplay  `yaml:"display_information"`
	Features    manifestFeatures `yaml:"features"`
	OAuthConfig manifestOAuth    `yaml:"oauth_config"`
	Settings    manifestSettings `yaml:"settings"`
	// Functions are the Workflow Builder steps (slack-go's Manifest type has
	// no such field, so the manifest is built from these types).
	Functions map[string]manifestFunction `yaml:"functions,omitempty"`
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
	Shortcuts     []manifestShortcut     `yaml:"shortcuts,omitempty"`
	SlashCommands []manifestSlashCommand `yaml:"slash_commands"`
}

type manifestShortcut struct {
	Name        string `yaml:"name"`
	Type        string `yaml:"type"`
	CallbackID  string `yaml:"callback_id"`
	Description string `yaml:"description"`
}

type manifestFunction struct {
	Title       string                       `yaml:"title"`
	Description string                       `yaml:"description"`
	Inputs      map[string]manifestParameter `yaml:"input_parameters"`
	Outputs     map[string]manifestParameter `yaml:"output_parameters"`
}

type manifestParameter struct {
	Type        string `yaml:"type"`
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	IsRequired  bool   `yaml:"is_required"`
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
	EventSubscriptions   *manifestEvents       `yaml:"event_subscriptions,omitempty"`
	Interactivity        manifestInteractivity `yaml:"interactivity"`
	OrgDeployEnabled     bool                  `yaml:"org_deploy_enabled"`
	SocketModeEnabled    bool                  `yaml:"socket_mode_enabled"`
	TokenRotationEnabled bool                  `yaml:"token_rotation_enabled"`
	FunctionRuntime      string                `yaml:"function_runtime,omitempty"`
}

type manifestEvents struct {
	RequestURL string   `yaml:"request_url,omitempty"` // http mode only
	BotEvents  []string `yaml:"bot_events"`
}

type manifestInteractivity struct {
	IsEnabled  bool   `yaml:"is_enabled"`
	RequestURL string `yaml:"request_url,omitempty"` // http mode only
}

// BotEvents returns the bot events the enabled features need, sorted.
func BotEvents(features []string) []string {
	var out []string
	for event, f := range eventFeatures {
		if slices.Contains(features, f) {
			out = append(out, event)
		}
	}
	slices.Sort(out)
	return out
}

// Manifest renders the Slack app manifest (YAML) for o. Comments at the top
// say how to use it and, in Socket Mode, which app-level token to create;
// the output stays valid YAML.
func Manifest(o ManifestOptions) ([]byte, error) {
	if !strings.HasPrefix(o.Command, "/") || len(o.Command) < 2 || strings.ContainsAny(o.Command, " \t\r\n") {
		return nil, fmt.Errorf("manifest: slash command must be one word after '/', got %q", o.Command)
	}
	for _, f := range o.Features {
		if f != FeatureAppHome && f != FeatureWorkflowStep && f != FeatureMessageShortcut {
			return nil, fmt.Errorf("manifest: unknown feature %q (want %s, %s or %s)", f, FeatureAppHome, FeatureWorkflowStep, FeatureMessageShortcut)
		}
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
		OAuthConfig: manifestOAuth{Scopes: manifestScopes{Bot: BotScopes(o.Features...)}},
		Settings:    manifestSettings{Interactivity: manifestInteractivity{IsEnabled: true}},
	}
	var head strings.Builder
	head.WriteString("# Slack app manifest for mdebot (api.slack.com/apps > Create New App > From a manifest).\n")
	if events := BotEvents(o.Features); len(events) > 0 {
		m.Settings.EventSubscriptions = &manifestEvents{BotEvents: events}
	}
	m.Features.AppHome.HomeTabEnabled = o.has(FeatureAppHome)
	if o.has(FeatureMessageShortcut) {
		m.Features.Shortcuts = []manifestShortcut{{
			Name: "Get MDE package", Type: "message", CallbackID: handlers.ShortcutCallback,
			Description: "Fetch or collect the Defender investigation package this message names",
		}}
	}
	if o.has(FeatureWorkflowStep) {
		// Functions are a field of manifest schema version 2; a custom step
		// runs on the app's own servers and needs an org-level install.
		m.Metadata.MajorVersion = 2
		m.Settings.OrgDeployEnabled = true
		m.Settings.FunctionRuntime = "remote"
		m.Functions = map[string]manifestFunction{handlers.StepCallback: stepFunction()}
		head.WriteString("# Workflow Builder step: install the app at the organisation level (org_deploy_enabled);\n")
		head.WriteString("# custom steps need a paid Slack plan. The requester named in the step must have run login.\n")
	}
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
		if m.Settings.EventSubscriptions != nil {
			m.Settings.EventSubscriptions.RequestURL = base + "/slack/events"
		}
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

// stepFunction is the Workflow Builder step's definition: the inputs and
// outputs handlers reads and writes (workflow.go).
func stepFunction() manifestFunction {
	str := func(title, desc string, required bool) manifestParameter {
		return manifestParameter{Type: "string", Title: title, Description: desc, IsRequired: required}
	}
	return manifestFunction{
		Title:       "Collect investigation package",
		Description: "Collects a Defender for Endpoint investigation package from a device as the requester, under the channel's policy (approvals included).",
		Inputs: map[string]manifestParameter{
			handlers.StepInputDevice:  str("Device", "Defender device ID (40 hex characters) or host name", true),
			handlers.StepInputComment: str("Comment", "Why the package is collected (shown in Defender's action log)", false),
			handlers.StepInputRequester: {Type: "slack#/types/user_id", Title: "Requester",
				Description: "The person Defender is called as; they must have linked their Microsoft account (login)", IsRequired: true},
			handlers.StepInputChannel: {Type: "slack#/types/channel_id", Title: "Incident channel",
				Description: "The channel whose policy applies and where progress and approvals appear", IsRequired: true},
		},
		Outputs: map[string]manifestParameter{
			// Not required: empty when the package is passed through as Defender's link (evidence.store none).
			handlers.StepOutputSHA256:    str("SHA-256", "SHA-256 of the delivered package (empty when passed through as a link)", false),
			handlers.StepOutputActionID:  str("Machine action ID", "Defender's CollectInvestigationPackage action", true),
			handlers.StepOutputFileName:  str("File name", "Name of the package file", true),
			handlers.StepOutputRequestID: str("Request ID", "mdebot's request, for the audit trail", true),
		},
	}
}
