package bot

import (
	"encoding/json"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

var allFeatures = []string{FeatureAppHome, FeatureWorkflowStep, FeatureMessageShortcut}

// Each feature adds exactly its part: App Home its tab and event, the step
// its function, event and org-level settings, the shortcut its entry; the
// Events API URL only in HTTP mode. The scopes do not change: none of these
// needs one the slash command and the methods do not already need.
func TestManifestFeatures(t *testing.T) {
	const base = "https://bot.example.com"
	tests := []struct {
		name     string
		mode     string
		features []string
		want     map[string]any
		absent   []string
	}{
		{"none", "http", nil, map[string]any{"_metadata.major_version": 1, "features.app_home.home_tab_enabled": false, "settings.org_deploy_enabled": false},
			[]string{"settings.event_subscriptions", "features.shortcuts", "functions", "settings.function_runtime"}},
		{"app home", "http", []string{FeatureAppHome}, map[string]any{
			"features.app_home.home_tab_enabled":               true,
			"settings.event_subscriptions.request_url":         base + "/slack/events",
			"settings.event_subscriptions.bot_events":          []any{"app_home_opened"},
			"features.app_home.messages_tab_enabled":           true,
			"settings.org_deploy_enabled":                      false,
			"settings.interactivity.request_url":               base + "/slack/interactivity",
			"features.app_home.messages_tab_read_only_enabled": true,
		}, []string{"functions", "features.shortcuts"}},
		{"all, http", "http", allFeatures, map[string]any{
			"_metadata.major_version":                                                      2,
			"features.app_home.home_tab_enabled":                                           true,
			"settings.event_subscriptions.request_url":                                     base + "/slack/events",
			"settings.event_subscriptions.bot_events":                                      []any{"app_home_opened", "function_executed"},
			"settings.org_deploy_enabled":                                                  true,
			"settings.function_runtime":                                                    "remote",
			"features.shortcuts.0.callback_id":                                             handlers.ShortcutCallback,
			"features.shortcuts.0.type":                                                    "message",
			"functions.collect_investigation_package.input_parameters.requester.type":      "slack#/types/user_id",
			"functions.collect_investigation_package.input_parameters.channel.type":        "slack#/types/channel_id",
			"functions.collect_investigation_package.input_parameters.device.is_required":  true,
			"functions.collect_investigation_package.input_parameters.comment.is_required": false,
		}, nil},
		{"all, socket", "socket", allFeatures, map[string]any{
			"settings.event_subscriptions.bot_events": []any{"app_home_opened", "function_executed"},
			"settings.socket_mode_enabled":            true,
		}, []string{"settings.event_subscriptions.request_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, m := parseManifest(t, ManifestOptions{Mode: tt.mode, Command: "/mde-package", PublicURL: base, Features: tt.features})
			for path, w := range tt.want {
				got, ok := at(m, splitPathKeys(path)...)
				if !ok || !reflect.DeepEqual(got, w) {
					t.Errorf("%s = %#v (present %v), want %#v", path, got, ok, w)
				}
			}
			for _, path := range tt.absent {
				if got, ok := at(m, splitPathKeys(path)...); ok {
					t.Errorf("%s = %#v, want it absent", path, got)
				}
			}
			if got := manifestBotScopes(t, m); !slices.Equal(got, BotScopes()) {
				t.Errorf("scopes %v, want %v", got, BotScopes())
			}
			if slices.Contains(tt.features, FeatureWorkflowStep) != strings.Contains(raw, "organisation level") {
				t.Errorf("the org-level install note does not follow the workflow step:\n%s", raw)
			}
		})
	}
	if _, err := Manifest(ManifestOptions{Mode: "socket", Command: "/mde-package", Features: []string{"home"}}); err == nil || !strings.Contains(err.Error(), `unknown feature "home"`) {
		t.Errorf("unknown feature: %v", err)
	}
}

// splitPathKeys is splitPath for paths whose keys may hold digits.
func splitPathKeys(p string) []any {
	var out []any
	for _, part := range strings.Split(p, ".") {
		if len(part) == 1 && part[0] >= '0' && part[0] <= '9' {
			out = append(out, int(part[0]-'0'))
		} else {
			out = append(out, part)
		}
	}
	return out
}

// The step's definition names exactly the inputs handlers reads and the
// outputs it completes the step with.
func TestManifestStepParameters(t *testing.T) {
	_, m := parseManifest(t, ManifestOptions{Mode: "socket", Command: "/mde-package", Features: []string{FeatureWorkflowStep}})
	keys := func(path ...any) []string {
		v, _ := at(m, path...)
		mm, _ := v.(map[string]any)
		return slices.Sorted(maps.Keys(mm))
	}
	fn := []any{"functions", handlers.StepCallback}
	inputs := []string{handlers.StepInputChannel, handlers.StepInputComment, handlers.StepInputDevice, handlers.StepInputRequester}
	outputs := []string{handlers.StepOutputActionID, handlers.StepOutputFileName, handlers.StepOutputRequestID, handlers.StepOutputSHA256}
	if got := keys(append(fn, "input_parameters")...); !slices.Equal(got, inputs) {
		t.Errorf("inputs %v, want %v", got, inputs)
	}
	if got := keys(append(fn, "output_parameters")...); !slices.Equal(got, outputs) {
		t.Errorf("outputs %v, want %v", got, outputs)
	}
}

// The bot events of the manifest and the events the code acts on are the
// same, both ways: each subscribed event, as Slack sends it, is acted on,
// and events the manifest does not subscribe to are dropped.
func TestManifestEventsHandled(t *testing.T) {
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	srv := NewServer(Options{OwnTeam: fake.TeamID(), Surfaces: newRecSurfaces()})
	log := slog.New(slog.DiscardHandler)
	sent := map[string]slackfake.EventCallback{
		eventAppHomeOpened: fake.AppHomeOpened(slackfake.HomeOpenedParams{UserID: "U1"}),
	}
	sent[eventFunctionExecuted], _ = fake.FunctionExecuted(slackfake.FunctionParams{CallbackID: handlers.StepCallback})
	subscribed := BotEvents(allFeatures)
	if !slices.Equal(subscribed, slices.Sorted(maps.Keys(eventFeatures))) {
		t.Fatalf("the manifest subscribes to %v with every feature, the code maps %v", subscribed, slices.Sorted(maps.Keys(eventFeatures)))
	}
	for _, name := range subscribed {
		ev, ok := sent[name]
		if !ok {
			t.Fatalf("no sample of %s: add one here", name)
		}
		var b eventBody
		if err := json.Unmarshal(ev.Body, &b); err != nil {
			t.Fatal(err)
		}
		if _, handled := srv.eventOf(log, b); !handled {
			t.Errorf("the manifest subscribes to %s but the code drops it", name)
		}
	}
	for _, other := range []string{"message", "app_mention", "reaction_added", "member_joined_channel", "app_uninstalled", "tokens_revoked"} {
		b := eventBody{Type: "event_callback", TeamID: fake.TeamID(), EventID: "Ev9", Event: []byte(`{"type":"` + other + `","user":"U1"}`)}
		if _, handled := srv.eventOf(log, b); handled {
			t.Errorf("the code acts on %s, which the manifest does not subscribe to", other)
		}
	}
}
