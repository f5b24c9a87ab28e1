package bot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/bot/slackfake"
)

func dividers(n int) []slack.Block {
	out := make([]slack.Block, n)
	for i := range out {
		out[i] = slack.NewDividerBlock()
	}
	return out
}

func TestPublishHome(t *testing.T) {
	fake, s := newMessengerEnv(t)
	ctx := context.Background()
	section := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Your requests*", false, false), nil, nil)
	if err := s.PublishHome(ctx, "U1", append([]slack.Block{section}, dividers(MaxHomeBlocks-1)...)); err != nil {
		t.Fatal(err)
	}
	hv, ok := fake.HomeViewOf("U1")
	var blocks []map[string]any
	if !ok || json.Unmarshal(hv.Blocks, &blocks) != nil || len(blocks) != MaxHomeBlocks || !strings.Contains(string(hv.Blocks), "*Your requests*") {
		t.Fatalf("published %+v", hv)
	}
	if err := s.PublishHome(ctx, "U2", nil); err != nil {
		t.Fatalf("empty home: %v", err)
	}
	if hv, _ := fake.HomeViewOf("U2"); string(hv.Blocks) != "[]" {
		t.Fatalf("empty home published as %s", hv.Blocks)
	}

	calls := len(fake.Calls("views.publish"))
	bad := []struct {
		name, user string
		blocks     []slack.Block
		want       string
	}{
		{"too many blocks", "U1", dividers(MaxHomeBlocks + 1), "at most 100"},
		{"no user", "", dividers(1), "no user"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.PublishHome(ctx, tt.user, tt.blocks); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	if n := len(fake.Calls("views.publish")); n != calls {
		t.Fatalf("refused input made %d calls", n-calls)
	}
	if err := s.PublishHome(ctx, "U404", nil); err == nil || slackError(err) != "invalid_arguments" {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestPublishHomeSlackRefusals(t *testing.T) {
	fake := slackfake.New(slackfake.Options{HomeTabDisabled: true})
	t.Cleanup(fake.Close)
	fake.AddUser(slackfake.User{ID: "U1"})
	s := newTestSlack(t, fake, nil)
	if err := s.PublishHome(context.Background(), "U1", dividers(1)); slackError(err) != "not_enabled" {
		t.Fatalf("home tab disabled: %v", err)
	}

	fake2, s2 := newMessengerEnv(t)
	fake2.RateLimitNext("views.publish", 1, 0)
	if err := s2.PublishHome(context.Background(), "U1", dividers(1)); err != nil {
		t.Fatalf("after one 429: %v", err)
	}
	if calls := fake2.Calls("views.publish"); len(calls) != 2 || calls[0].Error != "ratelimited" {
		t.Fatalf("calls %+v", calls)
	}
}
