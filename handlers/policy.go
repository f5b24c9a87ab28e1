package handlers

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// Policy says where and by whom packages may be requested (policy.* keys).
type Policy struct {
	Channels []ChannelRule
	// Requesters, when non-empty, are the user or user-group IDs allowed to request.
	Requesters []string
}

// ChannelRule applies to a channel whose ID equals Match or whose name matches the glob Match.
type ChannelRule struct {
	Match    string
	Delivery Delivery
	Approval ApprovalRule
	// AllowExternal lets requests run in a channel shared with another
	// organisation (Slack Connect) and lets guests request; off by default.
	AllowExternal bool
}

// ApprovalRule is a channel's approval requirement.
type ApprovalRule struct {
	Required          bool
	Approvers         []string // user or user-group IDs
	RequiredApprovals int
	ExpiresAfter      time.Duration
	// RequiredFor lists the request kinds that need approval
	// (approval.required_for); empty means every kind.
	RequiredFor []Kind
}

// NeededFor reports whether a request of kind k needs approval under a.
func (a ApprovalRule) NeededFor(k Kind) bool {
	return a.Required && (len(a.RequiredFor) == 0 || slices.Contains(a.RequiredFor, k))
}

// isChannelID reports whether s looks like a Slack conversation ID rather than a name glob.
func isChannelID(s string) bool {
	if len(s) < 2 || (s[0] != 'C' && s[0] != 'G') {
		return false
	}
	for _, r := range s[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// channelRule finds the first rule matching the channel, resolving its name
// only when a name glob has to be tried.
func (s *Service) channelRule(ctx context.Context, channel string) (*ChannelRule, string, error) {
	if strings.HasPrefix(channel, "D") {
		// A direct message has no name to match and is no incident channel.
		return nil, "", errorf(CodeForbidden, "Investigation packages are requested in incident channels, not in direct messages.")
	}
	var name string
	resolved := false
	for i := range s.opt.Policy.Channels {
		r := &s.opt.Policy.Channels[i]
		if isChannelID(r.Match) {
			if r.Match == channel {
				return r, name, nil
			}
			continue
		}
		if !resolved {
			n, err := s.opt.Directory.ChannelName(ctx, channel)
			if err != nil {
				return nil, "", fmt.Errorf("resolve channel %s: %w", channel, err)
			}
			name, resolved = strings.TrimPrefix(n, "#"), true
		}
		if ok, _ := path.Match(r.Match, name); ok {
			return r, name, nil
		}
	}
	return nil, name, errorf(CodeForbidden, "This channel is not one where investigation packages may be requested (no entry of policy.channels matches it). Ask in an incident channel.")
}

// member reports whether user is one of ids, directly or through a user group.
func (s *Service) member(ctx context.Context, user string, ids []string) (bool, error) {
	if slices.Contains(ids, user) {
		return true, nil
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "S") {
			continue
		}
		members, err := s.opt.Directory.GroupMembers(ctx, id)
		if err != nil {
			return false, fmt.Errorf("members of %s: %w", id, err)
		}
		if slices.Contains(members, user) {
			return true, nil
		}
	}
	return false, nil
}

// authorize applies the channel and requester policy to user asking in
// channel; channelName is Slack's hint, used when no glob needed the name.
func (s *Service) authorize(ctx context.Context, channel, channelName, user string) (*ChannelRule, string, error) {
	rule, name, err := s.channelRule(ctx, channel)
	if err != nil {
		return nil, "", err
	}
	if len(s.opt.Policy.Requesters) > 0 {
		ok, err := s.member(ctx, user, s.opt.Policy.Requesters)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			return nil, "", errorf(CodeForbidden, "You are not among the people allowed to request investigation packages (policy.requesters). Ask your SOC lead to add you.")
		}
	}
	if err := s.checkAudience(ctx, rule, channel, user); err != nil {
		return nil, "", err
	}
	if name == "" {
		name = channelName
	}
	return rule, name, nil
}

// checkAudience refuses, unless the channel's rule allows outsiders, a
// channel Slack reports as shared with another organisation and a requester
// who is a guest: evidence must not reach people outside the organisation.
func (s *Service) checkAudience(ctx context.Context, rule *ChannelRule, channel, user string) error {
	if rule.AllowExternal {
		return nil
	}
	external, err := s.opt.Directory.ChannelExternal(ctx, channel)
	if err != nil {
		return fmt.Errorf("is channel %s shared with another organisation: %w", channel, err)
	}
	if external {
		return errorf(CodeForbidden, "This channel is shared with another organisation (Slack Connect), so packages are not requested or delivered here (policy.channels[].allow_external is off). Ask in an internal incident channel.")
	}
	guest, err := s.opt.Directory.IsGuest(ctx, user)
	if err != nil {
		return fmt.Errorf("is %s a guest: %w", user, err)
	}
	if guest {
		return errorf(CodeForbidden, "Guests of this workspace cannot request investigation packages in this channel (policy.channels[].allow_external is off).")
	}
	return nil
}

// mentionAll mentions user and group IDs, separated by commas.
func mentionAll(ids []string) Text {
	var t Text
	for i, id := range ids {
		if i > 0 {
			t = append(t, Plain(", "))
		}
		t = append(t, Mention(id))
	}
	return t
}

// kindList names request kinds for people: "get, getfile".
func kindList(ks []Kind) string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
