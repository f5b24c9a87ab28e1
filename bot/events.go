package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/slack-go/slack/socketmode"

	"github.com/mdebot/mdebot/handlers"
)

// The Events API: POST /slack/events in HTTP mode, events_api envelopes in
// Socket Mode. Both parse the same body here (slack-go's parser refuses
// event types it does not know, which Slack would then retry), drop what is
// not for this bot, and feed one platform-neutral path: handlers' Event.

// SurfaceHandler takes the Slack surfaces beyond commands and clicks:
// Events API events and message shortcuts. handlers.Service implements it.
type SurfaceHandler interface {
	Event(ctx context.Context, e handlers.Event) handlers.Ack
	Shortcut(ctx context.Context, s handlers.Shortcut) handlers.Ack
}

// Events the bot acts on, and the slack.features setting each belongs to
// (the manifest subscribes to the events of the features enabled).
const (
	eventAppHomeOpened    = "app_home_opened"
	eventFunctionExecuted = "function_executed"
)

// eventFeatures maps each event the bot handles to its feature.
var eventFeatures = map[string]string{
	eventAppHomeOpened:    FeatureAppHome,
	eventFunctionExecuted: FeatureWorkflowStep,
}

// eventRetention is how long an event_id is remembered: Slack retries a
// failed delivery three times within about an hour (unverified: the
// schedule is not published precisely).
const eventRetention = 2 * time.Hour

// eventBody is an Events API request body, which is also a Socket Mode
// events_api envelope's payload.
type eventBody struct {
	Type         string          `json:"type"` // event_callback or url_verification
	Challenge    string          `json:"challenge"`
	TeamID       string          `json:"team_id"`
	EnterpriseID string          `json:"enterprise_id"`
	EventID      string          `json:"event_id"`
	Event        json.RawMessage `json:"event"`
}

// innerEvent holds the fields of the inner events the bot reads.
type innerEvent struct {
	Type string `json:"type"`
	// app_home_opened
	User json.RawMessage `json:"user"`
	Tab  string          `json:"tab"`
	// function_executed
	Function struct {
		CallbackID string `json:"callback_id"`
	} `json:"function"`
	Inputs              map[string]json.RawMessage `json:"inputs"`
	FunctionExecutionID string                     `json:"function_execution_id"`
	BotAccessToken      string                     `json:"bot_access_token"`
}

// serveEvents is POST /slack/events.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	if !s.readSigned(w, r) {
		return
	}
	var b eventBody
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&b); err != nil {
		http.Error(w, "bad event body", http.StatusBadRequest)
		return
	}
	if b.Type == "url_verification" {
		// Slack checks the Request URL with a challenge to echo.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(b.Challenge))
		return
	}
	rid := newRequestID()
	log := s.log.With("request_id", rid, "kind", "event", "team", b.TeamID, "event_id", b.EventID,
		"retry_num", r.Header.Get("X-Slack-Retry-Num"))
	ev, ok := s.eventOf(log, b)
	ev.RequestID = rid
	if !ok {
		w.WriteHeader(http.StatusOK)
		return
	}
	if !s.begin() {
		// Not recorded as seen: Slack's retry can reach a replica that runs.
		log.Info("event refused: shutting down")
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if !s.firstTime(r.Context(), "event:"+b.EventID, s.now().Add(eventRetention)) {
		s.work.Done()
		log.Info("event retry ignored: handled already", "retry_reason", r.Header.Get("X-Slack-Retry-Reason"))
		w.WriteHeader(http.StatusOK)
		return
	}
	start := s.onEvent(r.Context(), log, ev)
	w.WriteHeader(http.StatusOK)
	flush(w)
	if start != nil {
		start()
	}
	s.observe("event", t0)
}

// onSocketEvents handles an events_api envelope, already checked new.
func (s *Server) onSocketEvents(ctx context.Context, client *socketmode.Client, req *socketmode.Request) {
	t0 := time.Now()
	var b eventBody
	if err := json.NewDecoder(bytes.NewReader(req.Payload)).Decode(&b); err != nil {
		s.log.Warn("socket mode: unreadable events_api payload", "envelope_id", req.EnvelopeID, "err", err)
		s.ack(ctx, client, req, nil)
		return
	}
	rid := newRequestID()
	log := s.log.With("request_id", rid, "kind", "event", "team", b.TeamID, "event_id", b.EventID,
		"envelope_id", req.EnvelopeID, "retry_attempt", req.RetryAttempt)
	ev, ok := s.eventOf(log, b)
	ev.RequestID = rid
	if !ok || !s.begin() {
		if ok {
			log.Info("event dropped: shutting down")
		}
		s.ack(ctx, client, req, nil)
		return
	}
	start := s.onEvent(ctx, log, ev)
	s.ack(ctx, client, req, nil)
	if start != nil {
		start()
	}
	s.observe("event", t0)
}

// eventOf converts an event_callback the bot acts on; ok is false (logged)
// for anything else, which is acknowledged and dropped.
func (s *Server) eventOf(log *slog.Logger, b eventBody) (ev handlers.Event, ok bool) {
	var in innerEvent
	if b.Type != "event_callback" || json.Unmarshal(b.Event, &in) != nil {
		log.Debug("event ignored", "type", b.Type)
		return ev, false
	}
	ev = handlers.Event{ID: b.EventID, Team: b.TeamID, Kind: handlers.EventKind(in.Type)}
	switch in.Type {
	case eventAppHomeOpened:
		if json.Unmarshal(in.User, &ev.User) != nil || ev.User == "" {
			log.Warn("app_home_opened without a user ignored")
			return ev, false
		}
		ev.Tab = in.Tab
	case eventFunctionExecuted:
		inputs := map[string]string{}
		for k, raw := range in.Inputs {
			var v string
			if json.Unmarshal(raw, &v) == nil {
				inputs[k] = v
			}
		}
		ev.Step = &handlers.StepCall{CallbackID: in.Function.CallbackID, ExecutionID: in.FunctionExecutionID,
			Inputs: inputs, Token: handlers.NewSecret(in.BotAccessToken)}
		if ev.Step.ExecutionID == "" {
			log.Warn("function_executed without an execution ID ignored")
			return ev, false
		}
	default:
		log.Debug("event ignored", "event", in.Type)
		return ev, false
	}
	switch {
	case !s.teamAllowed(b.TeamID, b.EnterpriseID):
		log.Warn("event refused: workspace not allowed", "enterprise", b.EnterpriseID, "event", in.Type)
		return ev, false
	case s.o.Surfaces == nil:
		log.Warn("event ignored: no handler for events", "event", in.Type)
		return ev, false
	}
	return ev, true
}

// onEvent hands a verified event to the use cases; begin() was called. The
// returned function starts the work after the acknowledgement.
func (s *Server) onEvent(ctx context.Context, log *slog.Logger, ev handlers.Event) (start func()) {
	log = log.With("event", string(ev.Kind), "user", ev.User)
	if ev.Step != nil {
		log = log.With("execution_id", ev.Step.ExecutionID, "callback_id", ev.Step.CallbackID)
	}
	log.Info("event received")
	ack, ok := s.callHandler(log, func() handlers.Ack { return s.o.Surfaces.Event(ctx, ev) })
	if !ok {
		s.work.Done()
		return nil
	}
	u := unit{kind: kindClick, user: userKey(ev.Team, ev.User)}
	if ev.Step != nil {
		u = unit{kind: kindCommand, user: userKey(ev.Team, ev.Step.Inputs[handlers.StepInputRequester])}
	}
	return s.starter(u, log, ack.Work)
}
