package slackfake

import "slices"

// User is a workspace member.
type User struct {
	ID    string
	Name  string
	Email string // profile.email, as users.info returns it with users:read.email
	// TeamID is the user's home workspace (users.info team_id); default the
	// fake's. Another team's ID is a Slack Connect user from another organisation.
	TeamID string
	Guest  Guest
	IsBot  bool
}

// Guest is a user's guest status, as users.info reports it.
type Guest int

// Guest statuses. Slack sets is_restricted for every guest and also
// is_ultra_restricted for a single-channel guest.
const (
	NotGuest           Guest = iota
	MultiChannelGuest        // is_restricted
	SingleChannelGuest       // is_restricted and is_ultra_restricted
)

// Channel is a conversation the bot may post to.
type Channel struct {
	ID          string
	Name        string
	IsPrivate   bool
	BotIsMember bool // posting where the bot is not a member fails with not_in_channel
	// ExtShared is a Slack Connect channel, shared with another organisation
	// (is_ext_shared, is_shared).
	ExtShared bool
	// PendingExtShared is an invitation to share externally not accepted yet.
	PendingExtShared bool
	// OrgShared is shared between workspaces of one Enterprise Grid org
	// (is_org_shared, is_shared).
	OrgShared bool
	// ConnectedTeams are the other teams of a shared channel (connected_team_ids).
	ConnectedTeams []string
}

// AddUser adds or replaces a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// AddChannel adds or replaces a channel.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.ConnectedTeams = slices.Clone(c.ConnectedTeams)
	s.channels[c.ID] = c
}

// SetGuest changes a user's guest status; false when the user is unknown.
func (s *Server) SetGuest(user string, g Guest) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.users[user]
	if found {
		u.Guest = g
		s.users[user] = u
	}
	return found
}

// ShareExternally marks a channel as shared with another organisation
// (Slack Connect) with team among its connected teams, or, with team "",
// unshares it; false when the channel is unknown.
func (s *Server) ShareExternally(channel, team string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, found := s.channels[channel]
	if found {
		c.ExtShared, c.PendingExtShared = team != "", false
		c.ConnectedTeams = nil
		if team != "" {
			c.ConnectedTeams = []string{team}
		}
		s.channels[channel] = c
	}
	return found
}

// AddGroup adds or replaces a user group (subteam) and its members.
func (s *Server) AddGroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = slices.Clone(members)
}

// DMChannel returns the ID of the bot's DM with user, once conversations.open created it.
func (s *Server) DMChannel(user string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch, u := range s.dms {
		if u == user {
			return ch, true
		}
	}
	return "", false
}

// canPost says why the bot cannot post in channel ("" when it can). Callers hold s.mu.
func (s *Server) canPost(channel string) string {
	if _, ok := s.dms[channel]; ok {
		return ""
	}
	c, ok := s.channels[channel]
	switch {
	case !ok:
		return "channel_not_found"
	case !c.BotIsMember:
		return "not_in_channel"
	}
	return ""
}
