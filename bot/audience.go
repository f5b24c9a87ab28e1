package bot

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/slack-go/slack"
)

// Conversation is what conversations.info says about who can read a channel.
// Slack Connect (ExtShared) brings in people of another organisation; an
// Enterprise Grid org-wide channel (OrgShared) stays inside the organisation.
type Conversation struct {
	ID      string
	Name    string // without '#'; empty for a DM
	Private bool   // a private channel
	IM      bool   // a DM with the bot
	MPIM    bool   // a group DM
	// ExtShared: shared with another organisation (Slack Connect).
	ExtShared bool
	// PendingExtShared: an invitation to share it externally awaits acceptance.
	PendingExtShared bool
	// OrgShared: shared between workspaces of the same Enterprise Grid org.
	OrgShared bool
	// ConnectedTeams are the other organisations' team IDs, when Slack lists them.
	ConnectedTeams []string
}

// External reports whether people of another organisation can, or are about
// to, read the channel. A pending invitation counts: the other side only has
// to accept it.
func (c Conversation) External() bool { return c.ExtShared || c.PendingExtShared }

// Member is what users.info says about a user's standing in the workspace.
type Member struct {
	ID     string
	TeamID string // the user's home team; another organisation's for a Slack Connect user
	// Name is the person's real name, else display name, else user name.
	Name string
	// Guest is any guest account (is_restricted); SingleChannelGuest is a
	// guest limited to one channel (is_ultra_restricted).
	Guest              bool
	SingleChannelGuest bool
	Bot                bool
	Deleted            bool
}

// Conversation returns what conversations.info says about channel (cached
// for SlackOptions.CacheTTL, like the channel name it also holds).
func (s *Slack) Conversation(ctx context.Context, channel string) (Conversation, error) {
	if channel == "" {
		return Conversation{}, errors.New("conversation: no channel ID")
	}
	if c, ok := s.channels.get(channel); ok {
		return c.clone(), nil
	}
	var ch *slack.Channel
	err := s.call(ctx, "conversations.info", func(ctx context.Context) error {
		var err error
		ch, err = s.client.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
		return err
	})
	if err != nil {
		return Conversation{}, err
	}
	c := Conversation{
		ID:               channel,
		Name:             ch.Name,
		Private:          ch.IsPrivate,
		IM:               ch.IsIM,
		MPIM:             ch.IsMpIM,
		ExtShared:        ch.IsExtShared,
		PendingExtShared: ch.IsPendingExtShared,
		OrgShared:        ch.IsOrgShared,
		ConnectedTeams:   ch.ConnectedTeamIDs,
	}
	s.channels.put(channel, c.clone())
	return c, nil
}

// ChannelExternal reports whether people of another organisation can read
// channel (Conversation.External).
func (s *Slack) ChannelExternal(ctx context.Context, channel string) (bool, error) {
	c, err := s.Conversation(ctx, channel)
	if err != nil {
		return false, err
	}
	return c.External(), nil
}

// Member returns what users.info says about user's account (cached for
// SlackOptions.CacheTTL). UserEmail stays uncached: identity checks want
// the current email.
func (s *Slack) Member(ctx context.Context, user string) (Member, error) {
	if user == "" {
		return Member{}, errors.New("member: no user ID")
	}
	if m, ok := s.users.get(user); ok {
		return m, nil
	}
	u, err := s.userInfo(ctx, user)
	if err != nil {
		return Member{}, err
	}
	m := Member{
		ID:                 u.ID,
		TeamID:             u.TeamID,
		Name:               cmp.Or(u.RealName, u.Profile.RealName, u.Profile.DisplayName, u.Name),
		Guest:              u.IsRestricted || u.IsUltraRestricted,
		SingleChannelGuest: u.IsUltraRestricted,
		Bot:                u.IsBot,
		Deleted:            u.Deleted,
	}
	s.users.put(user, m)
	return m, nil
}

// UserName is the user's name as Slack shows it (Member.Name).
func (s *Slack) UserName(ctx context.Context, user string) (string, error) {
	m, err := s.Member(ctx, user)
	if err != nil {
		return "", err
	}
	return m.Name, nil
}

// IsGuest reports whether user is a guest account (multi- or single-channel).
func (s *Slack) IsGuest(ctx context.Context, user string) (bool, error) {
	m, err := s.Member(ctx, user)
	if err != nil {
		return false, err
	}
	return m.Guest, nil
}

func (c Conversation) clone() Conversation {
	c.ConnectedTeams = slices.Clone(c.ConnectedTeams)
	return c
}
