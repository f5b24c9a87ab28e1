package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/bot/slackfake"
)

func TestDirectoryCaches(t *testing.T) {
	fake, s := newMessengerEnv(t)
	fake.AddGroup("S1", "U1", "U2")
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	s.channels.now, s.groups.now = clock, clock
	ctx := context.Background()

	for range 2 {
		name, err := s.ChannelName(ctx, "C1")
		if err != nil || name != "inc-1" {
			t.Fatalf("ChannelName: %q %v", name, err)
		}
		members, err := s.GroupMembers(ctx, "S1")
		if err != nil || strings.Join(members, ",") != "U1,U2" {
			t.Fatalf("GroupMembers: %v %v", members, err)
		}
		members[0] = "changed by the caller" // must not reach the cache
	}
	if n, m := len(fake.Calls("conversations.info")), len(fake.Calls("usergroups.users.list")); n != 1 || m != 1 {
		t.Fatalf("fake saw %d conversations.info and %d usergroups.users.list calls, want 1 each (second from cache)", n, m)
	}
	if members, _ := s.GroupMembers(ctx, "S1"); members[0] != "U1" {
		t.Fatalf("cache corrupted by a caller: %v", members)
	}

	now = now.Add(time.Minute) // default CacheTTL
	fake.AddChannel(slackfake.Channel{ID: "C1", Name: "inc-renamed", BotIsMember: true})
	if name, _ := s.ChannelName(ctx, "C1"); name != "inc-renamed" {
		t.Fatalf("expired entry served: %q", name)
	}
	if n := len(fake.Calls("conversations.info")); n != 2 {
		t.Fatalf("fake saw %d conversations.info calls after expiry, want 2", n)
	}
}

func TestDirectoryErrors(t *testing.T) {
	_, s := newMessengerEnv(t)
	ctx := context.Background()
	if _, err := s.ChannelName(ctx, "C404"); err == nil || !strings.Contains(err.Error(), "channel_not_found") {
		t.Fatalf("unknown channel: %v", err)
	}
	if _, err := s.GroupMembers(ctx, "S404"); err == nil || !strings.Contains(err.Error(), "no_such_subteam") {
		t.Fatalf("unknown group: %v", err)
	}
	if _, err := s.ChannelName(ctx, ""); err == nil {
		t.Fatal("empty channel ID accepted")
	}
}

func TestUserEmail(t *testing.T) {
	_, s := newMessengerEnv(t)
	tests := []struct {
		user, want, wantErr string
	}{
		{"U1", "alice@example.com", ""},
		{"U2", "", "no email"},
		{"U404", "", "user_not_found"},
		{"", "", "no user"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got, err := s.UserEmail(context.Background(), slackfake.DefaultTeamID, tt.user)
			if got != tt.want || (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got %q %v, want %q / error with %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestAuthTest(t *testing.T) {
	fake := slackfake.New(slackfake.Options{TeamID: "T0042", BotUserID: "U0MDEBOT"})
	t.Cleanup(fake.Close)
	team, bot, err := newTestSlack(t, fake, nil).AuthTest(context.Background())
	if err != nil || team != "T0042" || bot != "U0MDEBOT" {
		t.Fatalf("AuthTest: %q %q %v", team, bot, err)
	}
	_, _, err = newTestSlack(t, fake, func(o *SlackOptions) { o.BotToken = "xoxb-wrong" }).AuthTest(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestNewSlackOptions(t *testing.T) {
	tests := []struct {
		name    string
		o       SlackOptions
		wantErr string
	}{
		{"ok", SlackOptions{BotToken: "xoxb-1", AppToken: "xapp-1"}, ""},
		{"user token", SlackOptions{BotToken: "xoxp-1"}, "bot token"},
		{"bot token as app token", SlackOptions{BotToken: "xoxb-1", AppToken: "xoxb-2"}, "app-level token"},
		{"bad API URL", SlackOptions{BotToken: "xoxb-1", APIURL: "ftp://x"}, "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSlack(tt.o)
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "xox") && strings.Contains(err.Error(), "-1") {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
}
