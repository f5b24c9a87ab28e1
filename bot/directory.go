package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/slack-go/slack"
)

// ChannelName returns the channel's name without '#' (conversations.info, cached).
func (s *Slack) ChannelName(ctx context.Context, channel string) (string, error) {
	if channel == "" {
		return "", errors.New("channel name: no channel ID")
	}
	c, err := s.Conversation(ctx, channel)
	if err != nil {
		return "", err
	}
	return c.Name, nil
}

// GroupMembers returns the user IDs of a user group (usergroups.users.list, cached).
func (s *Slack) GroupMembers(ctx context.Context, group string) ([]string, error) {
	if group == "" {
		return nil, errors.New("group members: no group ID")
	}
	if users, ok := s.groups.get(group); ok {
		return slices.Clone(users), nil
	}
	var users []string
	err := s.call(ctx, "usergroups.users.list", func(ctx context.Context) error {
		var err error
		users, err = s.client.GetUserGroupMembersContext(ctx, group)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.groups.put(group, slices.Clone(users))
	return users, nil
}

// UserEmail returns the user's Slack profile email (users.info; needs the
// users:read.email scope). Not cached: identity checks want the current email.
func (s *Slack) UserEmail(ctx context.Context, team, user string) (string, error) {
	if user == "" {
		return "", errors.New("user email: no user ID")
	}
	u, err := s.userInfo(ctx, user)
	if err != nil {
		return "", err
	}
	if u.Profile.Email == "" {
		return "", fmt.Errorf("slack user %s has no email in their profile (or the app lacks users:read.email)", user)
	}
	return u.Profile.Email, nil
}

// userInfo calls users.info, uncached.
func (s *Slack) userInfo(ctx context.Context, user string) (*slack.User, error) {
	var u *slack.User
	err := s.call(ctx, "users.info", func(ctx context.Context) error {
		var err error
		u, err = s.client.GetUserInfoContext(ctx, user)
		return err
	})
	return u, err
}
