package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// HomeClickParams are the fields of a button clicked on a user's App Home tab.
type HomeClickParams struct {
	TeamID   string // default DefaultTeamID (Socket Mode: the fake's team)
	UserID   string
	UserName string
	ActionID string
	Value    string
	Label    string // the button's text
	// TriggerID defaults to a random one, APIAppID to DefaultAppID.
	TriggerID, APIAppID string
}

// HomeClickPayload is the form Slack posts to the interactivity URL when
// p.UserID clicks a button on the Home tab published for them: a
// block_actions payload whose container is the view (type "view"), with the
// view itself and no channel, message or response_url, as Slack sends it.
// The action and value are sent as given, whether or not the published view
// shows that button (a stale view, or a crafted payload). It fails when no
// Home tab was published for the user: there would be nothing to click.
func (s *Server) HomeClickPayload(p HomeClickParams) (url.Values, error) {
	m, err := s.homeClick(p)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(m) // maps of JSON-ready values always encode
	return url.Values{"payload": {string(b)}}, nil
}

// SendHomeClick delivers a Home tab click as an interactive envelope and
// returns the ack's payload. An empty TeamID gets the fake's.
func (s *Server) SendHomeClick(ctx context.Context, p HomeClickParams) (json.RawMessage, error) {
	if p.TeamID == "" {
		p.TeamID = s.o.TeamID
	}
	m, err := s.homeClick(p)
	if err != nil {
		return nil, err
	}
	a, err := s.sendEnvelope(ctx, "interactive", m, true)
	return a.Payload, err
}

func (s *Server) homeClick(p HomeClickParams) (map[string]any, error) {
	s.mu.Lock()
	hv := s.homes[p.UserID]
	var view map[string]any
	if hv != nil {
		view = s.viewObject(hv)
	}
	s.mu.Unlock()
	if view == nil {
		return nil, fmt.Errorf("slackfake: no Home tab was published for %s", p.UserID)
	}
	m := interaction{team: p.TeamID, user: p.UserID, userName: p.UserName, appID: p.APIAppID, trigger: p.TriggerID}.fields("block_actions")
	delete(m, "channel")
	delete(m, "response_url")
	m["container"] = map[string]any{"type": "view", "view_id": view["id"]}
	m["view"] = view
	m["actions"] = []any{map[string]any{
		"type":      "button",
		"action_id": p.ActionID,
		"block_id":  "",
		"text":      map[string]any{"type": "plain_text", "text": or(p.Label, p.ActionID), "emoji": true},
		"value":     p.Value,
		"action_ts": actionTS(),
	}}
	return m, nil
}
