package mdetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/mdebot/mdebot/mde"
)

// LiveResponseRequest is one runliveresponse call that reached the handler
// (authenticated and within the rate limit), valid or not.
type LiveResponseRequest struct {
	MachineID string
	Token     string // the bearer token it carried
	Body      string // the exact body sent
	At        time.Time
}

// liveState is the fake's live response side, guarded by Server.mu.
type liveState struct {
	script     []Step
	cmdErrors  []string
	requests   []LiveResponseRequest
	results    map[string]liveResult // action id -> the GetFile result
	links      map[string]resultLink // link signature -> link
	signatures []string
	linkCalls  []time.Time
	expireNext bool
}

func newLiveState() liveState {
	return liveState{
		script:    []Step{{mde.StatusPending, 1}, {mde.StatusInProgress, 1}, {mde.StatusSucceeded, 0}},
		cmdErrors: []string{"The system cannot find the file specified."},
		results:   map[string]liveResult{},
		links:     map[string]resultLink{},
	}
}

func liveDefaults(o Options) Options {
	if o.LiveResponseLimits == (mde.Limits{}) {
		o.LiveResponseLimits = mde.DefaultLiveResponseLimits()
	}
	if o.ResultLinkTTL <= 0 {
		o.ResultLinkTTL = 30 * time.Minute
	}
	if o.MaxLiveSessions <= 0 {
		o.MaxLiveSessions = 25
	}
	if o.MaxQueryLength <= 0 {
		o.MaxQueryLength = 2048
	}
	return o
}

// SetLiveResponseScript sets the script of sessions started by later
// runliveresponse calls (default Pending for 1 poll, InProgress for 1
// poll, Succeeded). The GetFile command's status follows the action's:
// Created, InProgress, Completed, or Failed with the errors of
// SetLiveResponseErrors.
func (s *Server) SetLiveResponseScript(script ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live.script = append([]Step(nil), script...)
}

// SetLiveResponseErrors sets what the command of a later session reports
// when it fails or times out.
func (s *Server) SetLiveResponseErrors(errs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live.cmdErrors = append([]string(nil), errs...)
}

// LiveResponseRequests returns every runliveresponse call that reached the
// handler, in arrival order.
func (s *Server) LiveResponseRequests() []LiveResponseRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LiveResponseRequest(nil), s.live.requests...)
}

// runLiveResponse answers POST /api/machines/{id}/runliveresponse: a strict
// body (see parseLiveResponseBody), one open session per device (400
// ActiveRequestAlreadyExists), MaxLiveSessions in the tenant (429), then a
// LiveResponse action following the live response script.
func (s *Server) runLiveResponse(w http.ResponseWriter, r *http.Request, token string) {
	id := r.PathValue("id")
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live.requests = append(s.live.requests, LiveResponseRequest{MachineID: id, Token: token, Body: string(raw), At: now})
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestBody", "Request body could not be read")
		return
	}
	path, comment, problem := parseLiveResponseBody(raw)
	if problem != "" {
		writeError(w, http.StatusBadRequest, "InvalidRequestBody", problem)
		return
	}
	m, ok := s.machineByID(id)
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "Machine was not found")
		return
	}
	open := 0
	for _, aid := range s.actionOrder {
		a := s.actions[aid].a
		if a.Type != mde.TypeLiveResponse || (a.Status != mde.StatusPending && a.Status != mde.StatusInProgress) {
			continue
		}
		if a.MachineID == m.ID {
			writeError(w, http.StatusBadRequest, "ActiveRequestAlreadyExists", "A live response session is already running on this machine")
			return
		}
		open++
	}
	if open >= s.opts.MaxLiveSessions {
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, "TooManyRequests",
			fmt.Sprintf("Too many concurrent live response sessions (%d).", open))
		return
	}
	aid := s.addAction(mde.MachineAction{
		Type:             mde.TypeLiveResponse,
		Requestor:        s.requestor(token),
		RequestorComment: comment,
		RequestSource:    "PublicApi",
		Status:           mde.StatusPending,
		MachineID:        m.ID,
		ComputerDNSName:  m.ComputerDNSName,
		Commands: []mde.LiveResponseCommand{{
			Index: 0, CommandStatus: mde.CommandCreated, Errors: mde.CommandErrorList{},
			Command: mde.CommandDef{Type: mde.CommandGetFile, Params: []mde.CommandParam{{Key: "Path", Value: path}}},
		}},
	}, s.live.script)
	st := s.actions[aid]
	st.cmdErrors = s.live.cmdErrors
	s.live.results[aid] = newLiveResult([]byte(fmt.Sprintf("mdetest live response GetFile result\r\npath: %s\r\n", path)))
	writeJSON(w, http.StatusCreated, actionBody{odataBase + "MachineActions/$entity", st.a})
}

// parseLiveResponseBody checks runliveresponse's body as strictly as the
// documented format: exactly the case-sensitive names Commands and Comment
// (a string), one command {"type": "GetFile", "params": [{"key": "Path",
// "value": "..."}]}. Unknown names are refused (Defender may ignore them;
// the fake is stricter so a misspelling cannot pass). It returns the path
// and comment, or the problem.
func parseLiveResponseBody(raw []byte) (path, comment, problem string) {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil || top == nil {
		return "", "", "Request body is not a JSON object"
	}
	if bad := unknownKeys(top, "Commands", "Comment"); bad != "" {
		return "", "", fmt.Sprintf("Unknown parameter %q (names are case-sensitive: Commands, Comment)", bad)
	}
	if c, ok := top["Comment"]; !ok || json.Unmarshal(c, &comment) != nil {
		return "", "", "Comment is required (a string)"
	}
	var cmds []map[string]json.RawMessage
	if c, ok := top["Commands"]; !ok || json.Unmarshal(c, &cmds) != nil || len(cmds) == 0 {
		return "", "", "Commands is required (a non-empty array of commands)"
	}
	if len(cmds) > 1 {
		return "", "", "mdetest runs one command per session"
	}
	cmd := cmds[0]
	if bad := unknownKeys(cmd, "type", "params"); bad != "" {
		return "", "", fmt.Sprintf("Unknown command property %q (names are case-sensitive: type, params)", bad)
	}
	var typ string
	if t, ok := cmd["type"]; !ok || json.Unmarshal(t, &typ) != nil {
		return "", "", "Command type is required (a string)"
	}
	switch typ {
	case mde.CommandGetFile:
	case "RunScript", "PutFile":
		return "", "", "mdetest implements GetFile only, not " + typ
	default:
		return "", "", fmt.Sprintf("Unknown command type %q: allowed values are PutFile, RunScript, GetFile", typ)
	}
	var params []map[string]json.RawMessage
	if p, ok := cmd["params"]; !ok || json.Unmarshal(p, &params) != nil {
		return "", "", "Command params is required (an array of key/value objects)"
	}
	if len(params) != 1 {
		return "", "", fmt.Sprintf("GetFile takes exactly one parameter, Path; got %d", len(params))
	}
	if bad := unknownKeys(params[0], "key", "value"); bad != "" {
		return "", "", fmt.Sprintf("Unknown parameter property %q (names are case-sensitive: key, value)", bad)
	}
	var key string
	if k, ok := params[0]["key"]; !ok || json.Unmarshal(k, &key) != nil || key != "Path" {
		return "", "", `GetFile's parameter key must be "Path"`
	}
	if v, ok := params[0]["value"]; !ok || json.Unmarshal(v, &path) != nil || path == "" {
		return "", "", "GetFile's Path value must be a non-empty string"
	}
	return path, comment, ""
}

// unknownKeys returns the first (sorted) key of m not in allowed, or "".
func unknownKeys(m map[string]json.RawMessage, allowed ...string) string {
	var bad []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return ""
	}
	sort.Strings(bad)
	return bad[0]
}

// syncCommands moves a LiveResponse action's commands along with its
// status. The slice is replaced, never changed in place: answers being
// written hold the old one.
func (st *actionState) syncCommands(now time.Time) {
	if len(st.a.Commands) == 0 {
		return
	}
	cmds := slices.Clone(st.a.Commands)
	for i := range cmds {
		c := &cmds[i]
		t := now
		switch st.a.Status {
		case mde.StatusPending:
			c.CommandStatus, c.StartTime, c.EndTime, c.Errors = mde.CommandCreated, nil, nil, mde.CommandErrorList{}
		case mde.StatusInProgress:
			c.CommandStatus = mde.CommandInProgress
			if c.StartTime == nil {
				c.StartTime = &t
			}
		case mde.StatusSucceeded:
			c.CommandStatus, c.EndTime = mde.CommandCompleted, &t
			if c.StartTime == nil {
				c.StartTime = &t
			}
		case mde.StatusFailed, mde.StatusTimeOut:
			c.CommandStatus, c.EndTime = mde.CommandFailed, &t
			c.Errors = append(mde.CommandErrorList{}, st.cmdErrors...)
		case mde.StatusCancelled:
			c.CommandStatus, c.EndTime = "Cancelled", &t
		}
	}
	st.a.Commands = cmds
}
