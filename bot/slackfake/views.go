package slackfake

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Home tab limits: Slack documents 100 blocks per view and 250 KB per payload.
const (
	maxHomeBlocks = 100
	maxViewBytes  = 250 << 10
)

// HomeView is a Home tab as published with views.publish.
type HomeView struct {
	User string
	ID   string // the view ID, stable per user like Slack's
	// Hash is the hash views.publish returned; sending it back with the next
	// publish guards against overwriting a newer view (hash_conflict).
	Hash   string
	View   json.RawMessage // the view as sent
	Blocks json.RawMessage // its blocks
}

// publishView is views.publish: user_id, view (JSON) and an optional hash.
func (s *Server) publishView(p url.Values) result {
	user, raw := p.Get("user_id"), p.Get("view")
	if user == "" || raw == "" {
		return fail("invalid_arguments")
	}
	if s.o.HomeTabDisabled {
		return fail("not_enabled")
	}
	if len(raw) > maxViewBytes {
		return fail("view_too_large")
	}
	var v struct {
		Type   string          `json:"type"`
		Blocks json.RawMessage `json:"blocks"`
	}
	var blocks []json.RawMessage
	if json.Unmarshal([]byte(raw), &v) != nil || v.Type != "home" || json.Unmarshal(v.Blocks, &blocks) != nil || blocks == nil {
		return fail("invalid_arguments")
	}
	if len(blocks) > maxHomeBlocks {
		return fail("view_too_large")
	}
	s.mu.Lock()
	if _, known := s.users[user]; !known {
		s.mu.Unlock()
		return fail("invalid_arguments")
	}
	cur := s.homes[user]
	if h := p.Get("hash"); h != "" && (cur == nil || h != cur.Hash) {
		s.mu.Unlock()
		return fail("hash_conflict")
	}
	id := s.nextID("V")
	if cur != nil {
		id = cur.ID
	}
	hv := &HomeView{
		User:   user,
		ID:     id,
		Hash:   strconv.FormatInt(time.Now().Unix(), 10) + "." + s.nextID(""),
		View:   json.RawMessage(raw),
		Blocks: v.Blocks,
	}
	s.homes[user] = hv
	snap := *hv
	s.mu.Unlock()
	s.record(Event{Kind: EventHomeView, Home: &snap})
	return ok(map[string]any{"view": s.viewObject(&snap)})
}

// viewObject is a published Home view as Slack returns it (views.publish,
// app_home_opened).
func (s *Server) viewObject(hv *HomeView) map[string]any {
	return map[string]any{
		"id":             hv.ID,
		"team_id":        s.o.TeamID,
		"type":           "home",
		"blocks":         hv.Blocks,
		"hash":           hv.Hash,
		"app_id":         s.o.AppID,
		"bot_id":         "B0001",
		"root_view_id":   hv.ID,
		"state":          map[string]any{"values": map[string]any{}},
		"clear_on_close": false,
	}
}

// HomeViewOf returns the Home tab currently published for user.
func (s *Server) HomeViewOf(user string) (HomeView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hv, found := s.homes[user]
	if !found {
		return HomeView{}, false
	}
	out := *hv
	out.View, out.Blocks = slices.Clone(hv.View), slices.Clone(hv.Blocks)
	return out, true
}

// HomeViews returns every views.publish that succeeded, oldest first.
func (s *Server) HomeViews() []HomeView {
	return recorded(s, EventHomeView, func(e Event) *HomeView { return e.Home })
}
