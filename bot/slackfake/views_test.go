package slackfake_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/bot/slackfake"
)

func homeView(n int) string {
	blocks := make([]string, n)
	for i := range blocks {
		blocks[i] = `{"type":"divider"}`
	}
	return `{"type":"home","blocks":[` + strings.Join(blocks, ",") + `]}`
}

// callForm posts a form to a Web API method with the bot token and returns Slack's error ("" when ok).
func callForm(t *testing.T, fake *slackfake.Server, method string, form url.Values) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, fake.URL()+method, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+fake.BotToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.OK == (r.Error != "") {
		t.Fatalf("answer with ok=%v and error %q", r.OK, r.Error)
	}
	return r.Error
}

func TestViewsPublish(t *testing.T) {
	fake, _ := newFake(t, slackfake.Options{})
	tests := []struct {
		name string
		form url.Values
		want string
	}{
		{"100 blocks", url.Values{"user_id": {"U1"}, "view": {homeView(100)}}, ""},
		{"101 blocks", url.Values{"user_id": {"U1"}, "view": {homeView(101)}}, "view_too_large"},
		{"over 250 KB", url.Values{"user_id": {"U1"}, "view": {`{"type":"home","blocks":[],"private_metadata":"` + strings.Repeat("x", 260<<10) + `"}`}}, "view_too_large"},
		{"no user", url.Values{"view": {homeView(1)}}, "invalid_arguments"},
		{"unknown user", url.Values{"user_id": {"U404"}, "view": {homeView(1)}}, "invalid_arguments"},
		{"no view", url.Values{"user_id": {"U1"}}, "invalid_arguments"},
		{"a modal", url.Values{"user_id": {"U1"}, "view": {`{"type":"modal","blocks":[]}`}}, "invalid_arguments"},
		{"blocks not a list", url.Values{"user_id": {"U1"}, "view": {`{"type":"home","blocks":{}}`}}, "invalid_arguments"},
		{"stale hash", url.Values{"user_id": {"U1"}, "view": {homeView(1)}, "hash": {"1.000001"}}, "hash_conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := callForm(t, fake, "views.publish", tt.form); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	hv, ok := fake.HomeViewOf("U1")
	if views := fake.HomeViews(); !ok || len(views) != 1 || views[0].Hash != hv.Hash || !strings.Contains(string(hv.Blocks), "divider") {
		t.Fatalf("published views %+v / %+v", views, hv)
	}
	// The current hash is accepted, and the view keeps its ID.
	if got := callForm(t, fake, "views.publish", url.Values{"user_id": {"U1"}, "view": {homeView(2)}, "hash": {hv.Hash}}); got != "" {
		t.Fatalf("publish with the current hash: %s", got)
	}
	if again, _ := fake.HomeViewOf("U1"); again.ID != hv.ID || again.Hash == hv.Hash {
		t.Fatalf("republished view %+v, first %+v", again, hv)
	}
}

func TestViewsPublishSlackGoAndLimits(t *testing.T) {
	fake, api := newFake(t, slackfake.Options{})
	req := slack.PublishViewContextRequest{UserID: "U1", View: slack.HomeTabViewRequest{
		Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewDividerBlock()}},
	}}
	// Tier 4 by default: 100 calls a minute, then 429 with Retry-After.
	for i := range 100 {
		if _, err := api.PublishViewContext(ctx(t), req); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	_, err := api.PublishViewContext(ctx(t), req)
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.RetryAfter > time.Minute {
		t.Fatalf("101st call in a minute: %v, want a 429 with Retry-After", err)
	}
	fake.LimitRate("views.publish", 0, 0)
	if _, err := api.PublishViewContext(ctx(t), req); err != nil {
		t.Fatalf("after removing the limit: %v", err)
	}
	fake.LimitRate("auth.test", 1, time.Hour)
	_, _ = api.AuthTestContext(ctx(t))
	if _, err := api.AuthTestContext(ctx(t)); !errors.As(err, &rl) || rl.RetryAfter < 59*time.Minute {
		t.Fatalf("second auth.test in an hour with a limit of 1: %v", err)
	}

	disabled, dapi := newFake(t, slackfake.Options{HomeTabDisabled: true})
	if _, err := dapi.PublishViewContext(ctx(t), req); err == nil || err.Error() != "not_enabled" {
		t.Fatalf("home tab disabled: %v", err)
	}
	if len(disabled.HomeViews()) != 0 {
		t.Fatal("a refused view was recorded")
	}
}

func TestDirectoryFlags(t *testing.T) {
	fake, api := newFake(t, slackfake.Options{})
	fake.AddUser(slackfake.User{ID: "U2", Name: "gina"})
	fake.AddUser(slackfake.User{ID: "U3", Name: "sam", Guest: slackfake.SingleChannelGuest})
	fake.AddUser(slackfake.User{ID: "U4", Name: "ext", TeamID: "T0EXT"})
	fake.AddUser(slackfake.User{ID: "U5", Name: "robot", IsBot: true})
	fake.AddChannel(slackfake.Channel{ID: "C3", Name: "grid", OrgShared: true})
	fake.AddChannel(slackfake.Channel{ID: "C4", Name: "invited", PendingExtShared: true})
	if !fake.SetGuest("U2", slackfake.MultiChannelGuest) || fake.SetGuest("U404", slackfake.MultiChannelGuest) {
		t.Fatal("SetGuest: known user refused or unknown user accepted")
	}
	if !fake.ShareExternally("C1", "T0EXT") || fake.ShareExternally("C404", "T0EXT") {
		t.Fatal("ShareExternally: known channel refused or unknown channel accepted")
	}
	users := []struct {
		id                              string
		restricted, ultra, bot, ownTeam bool
	}{
		{"U1", false, false, false, true},
		{"U2", true, false, false, true},
		{"U3", true, true, false, true},
		{"U4", false, false, false, false},
		{"U5", false, false, true, true},
	}
	for _, tt := range users {
		t.Run(tt.id, func(t *testing.T) {
			u, err := api.GetUserInfoContext(ctx(t), tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if u.IsRestricted != tt.restricted || u.IsUltraRestricted != tt.ultra || u.IsBot != tt.bot || (u.TeamID == fake.TeamID()) != tt.ownTeam {
				t.Fatalf("users.info %s: %+v", tt.id, u)
			}
		})
	}
	ch, _, _, err := api.OpenConversationContext(ctx(t), &slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil {
		t.Fatal(err)
	}
	channels := []struct {
		id                                 string
		shared, ext, org, pending, private bool
		im                                 bool
		connected                          string
	}{
		{"C1", true, true, false, false, false, false, "T0EXT"},
		{"C2", false, false, false, false, true, false, ""},
		{"C3", true, false, true, false, false, false, ""},
		{"C4", false, false, false, true, false, false, ""},
		{ch.ID, false, false, false, false, false, true, ""},
	}
	for _, tt := range channels {
		t.Run(tt.id, func(t *testing.T) {
			c, err := api.GetConversationInfoContext(ctx(t), &slack.GetConversationInfoInput{ChannelID: tt.id})
			if err != nil {
				t.Fatal(err)
			}
			if c.IsShared != tt.shared || c.IsExtShared != tt.ext || c.IsOrgShared != tt.org || c.IsPendingExtShared != tt.pending ||
				c.IsPrivate != tt.private || c.IsIM != tt.im || strings.Join(c.ConnectedTeamIDs, ",") != tt.connected {
				t.Fatalf("conversations.info %s: %s", tt.id, fmt.Sprintf("%+v", c.GroupConversation.Conversation))
			}
		})
	}
	// Unsharing clears the flags.
	fake.ShareExternally("C1", "")
	if c, _ := api.GetConversationInfoContext(ctx(t), &slack.GetConversationInfoInput{ChannelID: "C1"}); c.IsExtShared || c.IsShared {
		t.Fatalf("C1 still shared: %+v", c)
	}
}
