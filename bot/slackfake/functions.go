package slackfake

import (
	"encoding/json"
	"maps"
	"net/url"
	"slices"
)

// ExecutionState is where a function execution stands.
type ExecutionState string

// Execution states: functions.completeSuccess and completeError end a
// running execution; a second completion fails with execution_not_in_running_state.
const (
	ExecutionRunning   ExecutionState = "running"
	ExecutionSucceeded ExecutionState = "succeeded"
	ExecutionFailed    ExecutionState = "failed"
)

// FunctionExecution is one run of a Workflow Builder custom step, started by
// a function_executed event (FunctionExecuted).
type FunctionExecution struct {
	ID                  string // function_execution_id
	WorkflowExecutionID string
	CallbackID          string
	// Token is the execution's bot_access_token. It stays valid after the
	// execution ends (how long Slack's lasts is unverified).
	Token  string
	Inputs map[string]any
	// Outputs are the output parameters the step declares, all required.
	Outputs []string
	State   ExecutionState
	// Result holds the outputs of completeSuccess; Error the message of completeError.
	Result map[string]any
	Error  string
}

// Completion is one accepted functions.completeSuccess or completeError.
type Completion struct {
	ExecutionID string
	Success     bool
	Outputs     map[string]any // completeSuccess
	Error       string         // completeError
	// Token is the token the call carried (the fake's tokens are not secrets);
	// ExecutionToken says whether it was the execution's own bot_access_token.
	Token          string
	ExecutionToken bool
}

// Execution returns the execution with that function_execution_id.
func (s *Server) Execution(id string) (FunctionExecution, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, found := s.execs[id]
	if !found {
		return FunctionExecution{}, false
	}
	return e.snapshot(), true
}

// Completions returns the accepted completions, oldest first.
func (s *Server) Completions() []Completion {
	return recorded(s, EventFunctionCompleted, func(e Event) *Completion { return e.Completion })
}

func (e *FunctionExecution) snapshot() FunctionExecution {
	out := *e
	out.Inputs, out.Result, out.Outputs = maps.Clone(e.Inputs), maps.Clone(e.Result), slices.Clone(e.Outputs)
	return out
}

// completeFunctionSuccess is functions.completeSuccess: function_execution_id
// and outputs (a JSON object holding every declared output).
func (s *Server) completeFunctionSuccess(p url.Values, token string) result {
	var outputs map[string]any
	if !p.Has("outputs") || json.Unmarshal([]byte(p.Get("outputs")), &outputs) != nil || outputs == nil {
		return fail("invalid_arguments")
	}
	return s.completeFunction(p.Get("function_execution_id"), token, Completion{Success: true, Outputs: outputs})
}

// completeFunctionError is functions.completeError: function_execution_id and error (the message shown).
func (s *Server) completeFunctionError(p url.Values, token string) result {
	if p.Get("error") == "" {
		return fail("invalid_arguments")
	}
	return s.completeFunction(p.Get("function_execution_id"), token, Completion{Error: p.Get("error")})
}

// completeFunction ends execution id with c, checking the token and the state.
func (s *Server) completeFunction(id, token string, c Completion) result {
	if id == "" {
		return fail("invalid_arguments")
	}
	s.mu.Lock()
	e, found := s.execs[id]
	switch {
	case !found:
		s.mu.Unlock()
		return fail("function_execution_not_found")
	case token != e.Token && (token != s.o.BotToken || s.o.RequireExecutionToken):
		// Another execution's token, or the bot token in strict mode.
		s.mu.Unlock()
		return fail("invalid_auth")
	case e.State != ExecutionRunning:
		s.mu.Unlock()
		return fail("execution_not_in_running_state")
	}
	if c.Success {
		var missing []string
		for _, name := range e.Outputs {
			if _, ok := c.Outputs[name]; !ok {
				missing = append(missing, "missing required output "+name)
			}
		}
		if len(missing) > 0 {
			s.mu.Unlock()
			return result{err: "parameter_validation_failed", fields: map[string]any{
				"response_metadata": map[string]any{"messages": missing},
			}}
		}
		e.State, e.Result = ExecutionSucceeded, maps.Clone(c.Outputs)
	} else {
		e.State, e.Error = ExecutionFailed, c.Error
	}
	c.ExecutionID, c.Token, c.ExecutionToken = id, token, token == e.Token
	s.mu.Unlock()
	s.record(Event{Kind: EventFunctionCompleted, Completion: &c})
	return ok(nil)
}
