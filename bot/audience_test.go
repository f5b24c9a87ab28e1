package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/bot/slackfake"
)

func TestConversation(t *testing.T) {
	fake, s := newMessengerEnv(t)
	fake.AddChannel(slackfake.Channel{ID: "C3", Name: "grid-wide", OrgShared: true, BotIsMember: true})
	fake.AddChannel(slackfake.Channel{ID: "C4", Name: "invited", PendingExtShared: true})
	fake.AddChannel(slackfake.Channel{ID: "C5", Name: "connect"})
	fake.ShareExternally("C5", "T0PARTNER")
	ch, _, _, err := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.URL())).
		OpenConversationContext(context.Background(), &slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id       string
		external bool
		check    func(Conversation) bool
	}{
		{"C1", false, func(c Conversation) bool { return c.Name == "inc-1" && !c.Private && !c.ExtShared && !c.OrgShared }},
		{"C2", false, func(c Conversation) bool { return c.Private }},
		{"C3", false, func(c Conversation) bool { return c.OrgShared && !c.ExtShared }},
		{"C4", true, func(c Conversation) bool { return c.PendingExtShared && !c.ExtShared }},
		{"C5", true, func(c Conversation) bool { return c.ExtShared && strings.Join(c.ConnectedTeams, ",") == "T0PARTNER" }},
		{ch.ID, false, func(c Conversation) bool { return c.IM && c.Name == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			c, err := s.Conversation(context.Background(), tt.id)
			if err != nil || c.ID != tt.id || !tt.check(c) || c.External() != tt.external {
				t.Fatalf("Conversation(%s) = %+v, %v", tt.id, c, err)
			}
			ext, err := s.ChannelExternal(context.Background(), tt.id)
			if err != nil || ext != tt.external {
				t.Fatalf("ChannelExternal(%s) = %v, %v", tt.id, ext, err)
			}
		})
	}
	if _, err := s.ChannelExternal(context.Background(), "C404"); slackError(err) != "channel_not_found" {
		t.Fatalf("unknown channel: %v", err)
	}
	if _, err := s.Conversation(context.Background(), ""); err == nil {
		t.Fatal("empty channel ID accepted")
	}
}

// A channel's facts are fetched once per TTL, ChannelName included, and a
// change shows after expiry.
func TestConversationCache(t *testing.T) {
	fake, s := newMessengerEnv(t)
	now := time.Unix(1_700_000_000, 0)
	s.channels.now = func() time.Time { return now }
	ctx := context.Background()
	if ext, _ := s.ChannelExternal(ctx, "C1"); ext {
		t.Fatal("C1 external before sharing")
	}
	fake.ShareExternally("C1", "T0PARTNER")
	if name, _ := s.ChannelName(ctx, "C1"); name != "inc-1" {
		t.Fatalf("ChannelName %q", name)
	}
	if ext, _ := s.ChannelExternal(ctx, "C1"); ext {
		t.Fatal("cached entry not used")
	}
	if n := len(fake.Calls("conversations.info")); n != 1 {
		t.Fatalf("%d conversations.info calls, want 1", n)
	}
	now = now.Add(time.Minute)
	if ext, _ := s.ChannelExternal(ctx, "C1"); !ext {
		t.Fatal("sharing not seen after the TTL")
	}
	got, _ := s.Conversation(ctx, "C1")
	got.ConnectedTeams[0] = "changed by the caller"
	if c, _ := s.Conversation(ctx, "C1"); strings.Join(c.ConnectedTeams, ",") != "T0PARTNER" {
		t.Fatalf("cache corrupted by a caller: %v", c.ConnectedTeams)
	}
	if n := len(fake.Calls("conversations.info")); n != 2 {
		t.Fatalf("%d conversations.info calls, want 2", n)
	}
}

func TestMember(t *testing.T) {
	fake, s := newMessengerEnv(t)
	fake.AddUser(slackfake.User{ID: "U3", Guest: slackfake.MultiChannelGuest})
	fake.AddUser(slackfake.User{ID: "U4", Guest: slackfake.SingleChannelGuest})
	fake.AddUser(slackfake.User{ID: "U5", IsBot: true})
	fake.AddUser(slackfake.User{ID: "U6", TeamID: "T0PARTNER"})
	tests := []struct {
		user string
		want Member
	}{
		{"U1", Member{ID: "U1", TeamID: fake.TeamID(), Name: "alice"}},
		{"U3", Member{ID: "U3", TeamID: fake.TeamID(), Guest: true}},
		{"U4", Member{ID: "U4", TeamID: fake.TeamID(), Guest: true, SingleChannelGuest: true}},
		{"U5", Member{ID: "U5", TeamID: fake.TeamID(), Bot: true}},
		{"U6", Member{ID: "U6", TeamID: "T0PARTNER"}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			m, err := s.Member(context.Background(), tt.user)
			if err != nil || m != tt.want {
				t.Fatalf("Member(%s) = %+v, %v; want %+v", tt.user, m, err, tt.want)
			}
			guest, err := s.IsGuest(context.Background(), tt.user)
			if err != nil || guest != tt.want.Guest {
				t.Fatalf("IsGuest(%s) = %v, %v", tt.user, guest, err)
			}
		})
	}
	if n := len(fake.Calls("users.info")); n != len(tests) {
		t.Fatalf("%d users.info calls for %d users: the second lookup should come from the cache", n, len(tests))
	}
	if _, err := s.IsGuest(context.Background(), "U404"); slackError(err) != "user_not_found" {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := s.Member(context.Background(), ""); err == nil {
		t.Fatal("empty user ID accepted")
	}
}

// A guest made so after the lookup shows once the cache entry expires.
func TestMemberCacheExpiry(t *testing.T) {
	fake, s := newMessengerEnv(t)
	now := time.Unix(1_700_000_000, 0)
	s.users.now = func() time.Time { return now }
	ctx := context.Background()
	if g, _ := s.IsGuest(ctx, "U1"); g {
		t.Fatal("U1 guest before")
	}
	fake.SetGuest("U1", slackfake.MultiChannelGuest)
	if g, _ := s.IsGuest(ctx, "U1"); g {
		t.Fatal("cached entry not used")
	}
	now = now.Add(time.Minute)
	if g, _ := s.IsGuest(ctx, "U1"); !g {
		t.Fatal("guest status not seen after the TTL")
	}
}
