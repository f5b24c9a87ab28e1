package slackfake

import "slices"

// User is a workspace member.
type User struct {
	ID    string
	Name  string
	Email string // profile.email, as users.info returns it with users:read.email
}

// Channel is a conversation the bot may post to.
type Channel struct {
	ID          string
	Name        string
	IsPrivate   bool
	BotIsMember bool // posting where the bot is not a member fails with not_in_channel
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
	s.channels[c.ID] = c
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
