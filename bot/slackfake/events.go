package slackfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// EventCallback is one Events API request body: an event_callback wrapping
// an inner event, or a url_verification challenge. The same body is what a
// Socket Mode events_api envelope carries as its payload.
type EventCallback struct {
	Type      string // "event_callback" or "url_verification"
	EventID   string // event_id; "" for url_verification
	EventType string // the inner event's type ("app_home_opened", ...)
	Body      json.RawMessage
}

// EventParams are the outer fields of an event_callback; empty ones get defaults.
type EventParams struct {
	TeamID       string    // default the fake's team
	APIAppID     string    // default the fake's app
	EnterpriseID string    // set for an Enterprise Grid org
	EventID      string    // default a fresh Ev... id
	EventTime    time.Time // default now
	// IsExtSharedChannel marks an event from a Slack Connect channel.
	IsExtSharedChannel bool
}

// URLVerification is the challenge Slack posts when the Request URL is set.
// The bot must answer 200 with the challenge.
func URLVerification(challenge string) EventCallback {
	b, _ := json.Marshal(map[string]string{ // strings always encode
		"token": "deprecated-verification-token", "challenge": challenge, "type": "url_verification",
	})
	return EventCallback{Type: "url_verification", Body: b}
}

// eventCallback wraps inner in the event_callback Slack documents, with
// event_id, event_time, team_id, api_app_id and authorizations (the bot's install).
func (s *Server) eventCallback(p EventParams, inner map[string]any) EventCallback {
	s.mu.Lock()
	id := p.EventID
	if id == "" {
		id = s.nextID("Ev")
	}
	eventContext := s.nextID("EC")
	s.mu.Unlock()
	at := p.EventTime
	if at.IsZero() {
		at = time.Now()
	}
	inner["event_ts"] = fmt.Sprintf("%d.%06d", at.Unix(), at.Nanosecond()/1000)
	team := or(p.TeamID, s.o.TeamID)
	var enterprise any
	if p.EnterpriseID != "" {
		enterprise = p.EnterpriseID
	}
	body := map[string]any{
		"token":      "deprecated-verification-token",
		"team_id":    team,
		"api_app_id": or(p.APIAppID, s.o.AppID),
		"event":      inner,
		"type":       "event_callback",
		"event_id":   id,
		"event_time": at.Unix(),
		"authorizations": []any{map[string]any{
			"enterprise_id": enterprise, "team_id": team, "user_id": s.o.BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": p.IsExtSharedChannel,
		"event_context":         eventContext,
	}
	if p.EnterpriseID != "" {
		body["enterprise_id"] = p.EnterpriseID
	}
	b, _ := json.Marshal(body) // maps of JSON-ready values always encode
	return EventCallback{Type: "event_callback", EventID: id, EventType: inner["type"].(string), Body: b}
}

// HomeOpenedParams describe an app_home_opened event.
type HomeOpenedParams struct {
	UserID string
	Tab    string // "home" (default) or "messages"
	Event  EventParams
}

// AppHomeOpened builds the app_home_opened event Slack sends each time the
// user opens the app's tab: channel is the user's DM with the app (created if
// need be) and view, the Home tab published for the user, is sent only when
// there is one, as Slack does.
func (s *Server) AppHomeOpened(p HomeOpenedParams) EventCallback {
	s.mu.Lock()
	dm := ""
	for ch, u := range s.dms {
		if u == p.UserID {
			dm = ch
		}
	}
	if dm == "" {
		dm = s.nextID("D")
		s.dms[dm] = p.UserID
	}
	inner := map[string]any{"type": "app_home_opened", "user": p.UserID, "channel": dm, "tab": or(p.Tab, "home")}
	if hv := s.homes[p.UserID]; hv != nil {
		inner["view"] = s.viewObject(hv)
	}
	s.mu.Unlock()
	return s.eventCallback(p.Event, inner)
}

// FunctionParams describe a function_executed event: a workflow reached the app's custom step.
type FunctionParams struct {
	CallbackID string         // the step's callback_id in the manifest
	Inputs     map[string]any // the step's inputs, by name
	// Outputs are the output parameters the step declares (all required):
	// completeSuccess without one of them fails with parameter_validation_failed.
	Outputs []string
	Event   EventParams
}

// FunctionExecuted starts a running execution and builds its
// function_executed event, with a fresh per-execution bot_access_token
// (xwfp-...) that the fake accepts for Web API calls.
func (s *Server) FunctionExecuted(p FunctionParams) (EventCallback, FunctionExecution) {
	var secret [12]byte
	_, _ = rand.Read(secret[:]) // crypto/rand.Read never fails (Go 1.24+)
	s.mu.Lock()
	e := &FunctionExecution{
		ID:                  s.nextID("Fx"),
		WorkflowExecutionID: s.nextID("Wx"),
		CallbackID:          p.CallbackID,
		Token:               "xwfp-" + s.nextID("") + "-" + hex.EncodeToString(secret[:]),
		Inputs:              maps.Clone(p.Inputs),
		Outputs:             slices.Clone(p.Outputs),
		State:               ExecutionRunning,
	}
	s.execs[e.ID], s.execTokens[e.Token] = e, e.ID
	fnID := s.nextID("Fn")
	snap := e.snapshot()
	s.mu.Unlock()

	params := func(names []string) []any {
		out := []any{}
		for _, n := range names {
			out = append(out, map[string]any{"type": "string", "name": n, "title": n, "description": "", "is_required": true})
		}
		return out
	}
	inputs := snap.Inputs
	if inputs == nil {
		inputs = map[string]any{}
	}
	now := time.Now().Unix()
	inner := map[string]any{
		"type": "function_executed",
		"function": map[string]any{
			"id": fnID, "callback_id": p.CallbackID, "title": p.CallbackID, "description": "", "type": "app",
			"input_parameters":  params(slices.Sorted(maps.Keys(inputs))),
			"output_parameters": params(p.Outputs),
			"app_id":            s.o.AppID, "date_created": now, "date_updated": now, "date_deleted": 0,
		},
		"inputs":                inputs,
		"function_execution_id": snap.ID,
		"workflow_execution_id": snap.WorkflowExecutionID,
		"bot_access_token":      snap.Token,
	}
	return s.eventCallback(p.Event, inner), snap
}
