package bot

import (
	"bytes"
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"go.yaml.in/yaml/v3"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

// parseManifest renders and parses a manifest, failing the test on either error.
func parseManifest(t *testing.T, o ManifestOptions) (raw string, m map[string]any) {
	t.Helper()
	out, err := Manifest(o)
	if err != nil {
		t.Fatalf("Manifest(%+v): %v", o, err)
	}
	if err := yaml.Unmarshal(out, &m); err != nil {
		t.Fatalf("manifest is not valid YAML: %v\n%s", err, out)
	}
	return string(out), m
}

// at walks a parsed YAML document: keys for maps, ints for lists. ok is
// false when the path does not exist.
func at(doc any, path ...any) (v any, ok bool) {
	v = doc
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, isMap := v.(map[string]any)
			if !isMap {
				return nil, false
			}
			if v, ok = m[k]; !ok {
				return nil, false
			}
		case int:
			l, isList := v.([]any)
			if !isList || k >= len(l) {
				return nil, false
			}
			v = l[k]
		}
	}
	return v, true
}

// manifestBotScopes reads oauth_config.scopes.bot from a parsed manifest.
func manifestBotScopes(t *testing.T, m map[string]any) []string {
	t.Helper()
	raw, ok := at(m, "oauth_config", "scopes", "bot")
	list, isList := raw.([]any)
	if !ok || !isList {
		t.Fatalf("oauth_config.scopes.bot missing or not a list: %#v", raw)
	}
	var out []string
	for _, s := range list {
		str, isStr := s.(string)
		if !isStr {
			t.Fatalf("scope %#v is not a string", s)
		}
		out = append(out, str)
	}
	return out
}

func TestManifestModes(t *testing.T) {
	tests := []struct {
		name    string
		o       ManifestOptions
		want    map[string]any // path (dot-separated; digits index lists) -> value
		absent  []string
		comment string // in the leading comments
		noNote  string // must not appear anywhere
	}{
		{
			name: "socket mode",
			o:    ManifestOptions{Mode: "socket", Command: "/mde-package", PublicURL: "https://bot.example.com"},
			want: map[string]any{
				"settings.socket_mode_enabled":         true,
				"settings.interactivity.is_enabled":    true,
				"features.slash_commands.0.command":    "/mde-package",
				"features.slash_commands.0.usage_hint": "<action-id> | collect <host> [comment] | status <id> | search <id> <term> | login | logout | whoami | help",
			},
			absent:  []string{"features.slash_commands.0.url", "settings.interactivity.request_url"},
			comment: "# Socket Mode: after creating the app, make an app-level token with the connections:write",
			noNote:  "https://bot.example.com",
		},
		{
			name: "http mode",
			o:    ManifestOptions{Mode: "http", Command: "/ir-package", PublicURL: "https://bot.example.com/mdebot/"},
			want: map[string]any{
				"settings.socket_mode_enabled":       false,
				"settings.interactivity.is_enabled":  true,
				"settings.interactivity.request_url": "https://bot.example.com/mdebot/slack/interactivity",
				"features.slash_commands.0.command":  "/ir-package",
				"features.slash_commands.0.url":      "https://bot.example.com/mdebot/slack/commands",
			},
			noNote: "connections:write",
		},
	}
	common := map[string]any{
		"_metadata.major_version":                          1,
		"display_information.name":                         "mdebot",
		"features.bot_user.display_name":                   "mdebot",
		"features.slash_commands.0.should_escape":          false,
		"features.slash_commands.0.description":            "Get a Defender for Endpoint investigation package",
		"features.app_home.messages_tab_enabled":           true,
		"features.app_home.messages_tab_read_only_enabled": true,
		"settings.org_deploy_enabled":                      false,
		"settings.token_rotation_enabled":                  false,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, m := parseManifest(t, tt.o)
			want := maps.Clone(common)
			maps.Copy(want, tt.want)
			for path, w := range want {
				got, ok := at(m, splitPath(path)...)
				if !ok || !reflect.DeepEqual(got, w) {
					t.Errorf("%s = %#v (present %v), want %#v", path, got, ok, w)
				}
			}
			for _, path := range tt.absent {
				if got, ok := at(m, splitPath(path)...); ok {
					t.Errorf("%s = %#v, want it absent", path, got)
				}
			}
			if desc, _ := at(m, "display_information", "description"); desc == "" || desc == nil {
				t.Error("display_information.description is empty")
			}
			if cmds, _ := at(m, "features", "slash_commands"); len(cmds.([]any)) != 1 {
				t.Errorf("slash_commands = %#v, want exactly one", cmds)
			}
			if got := manifestBotScopes(t, m); !slices.Equal(got, BotScopes()) {
				t.Errorf("bot scopes %v, want %v", got, BotScopes())
			}
			if tt.comment != "" && !strings.Contains(raw, tt.comment) {
				t.Errorf("manifest lacks the comment %q:\n%s", tt.comment, raw)
			}
			if strings.Contains(raw, tt.noNote) {
				t.Errorf("manifest mentions %q:\n%s", tt.noNote, raw)
			}
			if !strings.HasPrefix(raw, "# Slack app manifest for mdebot") {
				t.Errorf("manifest does not start with its explanation:\n%s", raw)
			}
			if strings.Contains(raw, "auth/callback") || strings.Contains(raw, "redirect_urls") {
				t.Errorf("the Microsoft sign-in redirect is not a Slack setting:\n%s", raw)
			}
		})
	}
}

// splitPath turns "a.0.b" into {"a", 0, "b"}.
func splitPath(p string) []any {
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

func TestManifestRefuses(t *testing.T) {
	tests := []struct {
		name string
		o    ManifestOptions
		want string
	}{
		{"unknown mode", ManifestOptions{Mode: "events", Command: "/mde-package"}, `mode must be socket or http, got "events"`},
		{"http without public URL", ManifestOptions{Mode: "http", Command: "/mde-package"}, "http mode needs http.public_url"},
		{"relative public URL", ManifestOptions{Mode: "http", Command: "/mde-package", PublicURL: "bot.example.com"}, "must be an absolute https URL"},
		{"public URL with query", ManifestOptions{Mode: "http", Command: "/mde-package", PublicURL: "https://bot.example.com/?k=v"}, "must not have a query string"},
		{"command without slash", ManifestOptions{Mode: "socket", Command: "mde-package"}, `one word after '/', got "mde-package"`},
		{"command with a space", ManifestOptions{Mode: "socket", Command: "/mde package"}, "one word after '/'"},
		{"bare slash", ManifestOptions{Mode: "socket", Command: "/"}, "one word after '/'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Manifest(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Manifest = %q, %v; want an error containing %q", out, err, tt.want)
			}
		})
	}
}

// exerciseSlack makes every kind of Web API call the package makes, against
// the fake, and returns the methods the fake saw.
func exerciseSlack(t *testing.T) []string {
	t.Helper()
	fake, s := newMessengerEnv(t)
	fake.AddGroup("S1", "U1")
	ctx := context.Background()
	steps := []struct {
		name string
		run  func() error
	}{
		{"AuthTest", func() error { _, _, err := s.AuthTest(ctx); return err }},
		{"AppTokenTest", func() error { return s.AppTokenTest(ctx) }},
		{"Private (ephemeral)", func() error {
			return s.Private(ctx, handlers.Recipient{Channel: "C1", User: "U1"}, sample)
		}},
		{"DM", func() error { return s.DM(ctx, fake.TeamID(), "U1", sample) }},
		{"Post and Update", func() error {
			ts, err := s.Post(ctx, "C1", "", sample)
			if err != nil {
				return err
			}
			return s.Update(ctx, "C1", ts, handlers.Message{Text: handlers.T("done")})
		}},
		{"Upload", func() error {
			data := []byte("zip bytes")
			return s.Upload(ctx, handlers.Upload{Channel: "C1", Filename: "pkg.zip", Size: int64(len(data)), Body: bytes.NewReader(data)})
		}},
		{"ChannelName", func() error { _, err := s.ChannelName(ctx, "C1"); return err }},
		{"GroupMembers", func() error { _, err := s.GroupMembers(ctx, "S1"); return err }},
		{"UserEmail", func() error { _, err := s.UserEmail(ctx, fake.TeamID(), "U1"); return err }},
		{"Member", func() error { _, err := s.Member(ctx, "U2"); return err }},
		{"PublishHome", func() error { return s.PublishHome(ctx, "U1", nil) }},
		{"CompleteFunction and FailFunction", func() error {
			_, ok := fake.FunctionExecuted(slackfake.FunctionParams{CallbackID: "collect_investigation_package"})
			_, ko := fake.FunctionExecuted(slackfake.FunctionParams{CallbackID: "collect_investigation_package"})
			return errors.Join(s.CompleteFunction(ctx, ok.Token, ok.ID, nil), s.FailFunction(ctx, ko.Token, ko.ID, "no"))
		}},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	var methods []string
	for _, c := range fake.Calls("") {
		if c.Error != "" {
			t.Fatalf("fake answered %s with %s", c.Method, c.Error)
		}
		methods = append(methods, c.Method)
	}
	slices.Sort(methods)
	return slices.Compact(methods)
}

// allTableMethods lists the methods of methodScopes and appMethodScopes, sorted.
func allTableMethods() []string {
	out := slices.Collect(maps.Keys(methodScopes))
	out = append(out, slices.Collect(maps.Keys(appMethodScopes))...)
	slices.Sort(out)
	return out
}

// (a) Every method the code calls, as the fake Slack saw it, is covered by
// the manifest's scopes (bot token) or by the app-level token the Socket
// Mode manifest asks for; and the table lists no method the code does not call.
func TestManifestScopesCoverCalls(t *testing.T) {
	called := exerciseSlack(t)
	_, httpM := parseManifest(t, ManifestOptions{Mode: "http", Command: "/mde-package", PublicURL: "https://bot.example.com"})
	socketRaw, _ := parseManifest(t, ManifestOptions{Mode: "socket", Command: "/mde-package"})
	granted := manifestBotScopes(t, httpM)
	for _, method := range called {
		if scopes, ok := methodScopes[method]; ok {
			for _, s := range scopes {
				if !slices.Contains(granted, s) {
					t.Errorf("%s needs %s, which the manifest does not grant (%v)", method, s, granted)
				}
			}
			continue
		}
		if scopes, ok := appMethodScopes[method]; ok {
			for _, s := range scopes {
				if !strings.Contains(socketRaw, "app-level token with the "+s) {
					t.Errorf("%s needs the app-level scope %s, which the Socket Mode manifest does not mention", method, s)
				}
			}
			continue
		}
		t.Errorf("the code calls %s, which is not in methodScopes or appMethodScopes", method)
	}
	if table := allTableMethods(); !slices.Equal(called, table) {
		t.Errorf("methods called %v\nmethods in the table %v\n(every table entry must be exercised here, and every call listed)", called, table)
	}
}

// sdkMethods maps the slack-go calls the package may make to the Web API
// method each one sends ("" for a call that is not a Web API method). A new
// slack-go call fails TestManifestScopesStatic until it is listed here and
// its method's scopes are in methodScopes.
var sdkMethods = map[string]string{
	"AuthTestContext":               "auth.test",
	"PostMessageContext":            "chat.postMessage",
	"PostEphemeralContext":          "chat.postEphemeral",
	"UpdateMessageContext":          "chat.update",
	"OpenConversationContext":       "conversations.open",
	"GetUserInfoContext":            "users.info",
	"GetUserGroupMembersContext":    "usergroups.users.list",
	"GetConversationInfoContext":    "conversations.info",
	"GetUploadURLExternalContext":   "files.getUploadURLExternal",
	"CompleteUploadExternalContext": "files.completeUploadExternal",
	"StartSocketModeContext":        "apps.connections.open",
	"PublishViewContext":            "views.publish",
	"UploadToURL":                   "", // POST of the bytes to upload_url
}

// slackLogMethods are *slack.Client's logging methods; slog's share their names.
var slackLogMethods = map[string]bool{"Debug": true, "Debugf": true, "Debugln": true}

// A cheap static cross-check of the calls: every method of *slack.Client
// called in the package's source (and socketmode.New, which calls
// apps.connections.open) must be known and its Web API method in the table;
// and every table method must be called somewhere.
func TestManifestScopesStatic(t *testing.T) {
	clientType := reflect.TypeFor[*slack.Client]()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := map[string]string{} // Web API method -> where
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			where := fset.Position(call.Pos()).String()
			if sel.Sel.Name == "postMethod" && len(call.Args) > 1 {
				// Our own Web API client (functions.go) names the method in its second argument.
				if lit, isLit := call.Args[1].(*ast.BasicLit); isLit && lit.Kind == token.STRING {
					found[strings.Trim(lit.Value, "`\"")] = where
				} else {
					t.Errorf("%s: postMethod must name its Web API method as a string literal", where)
				}
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "socketmode" && sel.Sel.Name == "New" {
				found["apps.connections.open"] = where
				return true
			}
			if _, isClientMethod := clientType.MethodByName(sel.Sel.Name); !isClientMethod || slackLogMethods[sel.Sel.Name] {
				return true
			}
			method, known := sdkMethods[sel.Sel.Name]
			switch {
			case !known:
				t.Errorf("%s: slack-go call %s is not in sdkMethods: add its Web API method there and its scopes to methodScopes", where, sel.Sel.Name)
			case method != "":
				found[method] = where
			}
			return true
		})
	}
	for method, where := range found {
		_, bot := methodScopes[method]
		_, app := appMethodScopes[method]
		if !bot && !app {
			t.Errorf("%s: %s is called but has no entry in methodScopes or appMethodScopes", where, method)
		}
	}
	for _, method := range allTableMethods() {
		if _, ok := found[method]; !ok {
			t.Errorf("%s is in the scope table but no source file calls it", method)
		}
	}
}

// (b) Every scope in the manifest is needed: by a method the code calls, or
// ("commands") by the slash command the manifest declares. No duplicates.
func TestManifestScopesNeeded(t *testing.T) {
	_, m := parseManifest(t, ManifestOptions{Mode: "socket", Command: "/mde-package"})
	granted := manifestBotScopes(t, m)
	if len(granted) == 0 {
		t.Fatal("manifest grants no scope")
	}
	seen := map[string]bool{}
	for _, scope := range granted {
		if seen[scope] {
			t.Errorf("scope %s listed twice", scope)
		}
		seen[scope] = true
		var needers []string
		for method, scopes := range methodScopes {
			if slices.Contains(scopes, scope) {
				needers = append(needers, method)
			}
		}
		if scope == "commands" {
			if cmds, ok := at(m, "features", "slash_commands"); ok && len(cmds.([]any)) > 0 {
				needers = append(needers, "the slash command")
			}
		}
		if len(needers) == 0 {
			t.Errorf("scope %s is granted but nothing needs it", scope)
		}
	}
	for _, scope := range []string{AppTokenScope, "chat:write.public", "channels:history", "chat:write.customize"} {
		if seen[scope] {
			t.Errorf("manifest grants %s, which the code does not need", scope)
		}
	}
}

func TestAppTokenTest(t *testing.T) {
	tests := []struct {
		name     string
		appToken func(*slackfake.Server) string
		want     string // "" for success
	}{
		{"valid app token", (*slackfake.Server).AppToken, ""},
		{"wrong app token", func(*slackfake.Server) string { return "xapp-wrong" }, "slack apps.connections.open: invalid_auth"},
		{"no app token", func(*slackfake.Server) string { return "" }, "no app-level token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slackfake.New(slackfake.Options{})
			t.Cleanup(fake.Close)
			s := newTestSlack(t, fake, func(o *SlackOptions) { o.AppToken = tt.appToken(fake) })
			err := s.AppTokenTest(context.Background())
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("AppTokenTest: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("AppTokenTest = %v, want an error containing %q", err, tt.want)
			}
			if fake.Connections() != 0 {
				t.Fatalf("%d Socket Mode connections left open, want none", fake.Connections())
			}
		})
	}
}
