package bot

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/bot/slackfake"
	"github.com/mdebot/mdebot/handlers"
)

// newStepEnv is a fake Slack that accepts only an execution's own token for
// functions.complete*, and one running execution of the Workflow Builder step.
func newStepEnv(t *testing.T) (*slackfake.Server, *Slack, slackfake.FunctionExecution) {
	t.Helper()
	fake := slackfake.New(slackfake.Options{RequireExecutionToken: true})
	t.Cleanup(fake.Close)
	_, exec := fake.FunctionExecuted(slackfake.FunctionParams{
		CallbackID: "collect_investigation_package",
		Inputs:     map[string]any{"device": "host-1", "requester": "U1", "channel": "C1"},
		Outputs:    []string{"sha256", "action_id", "file_name", "request_id"},
	})
	return fake, newTestSlack(t, fake, nil), exec
}

var stepOutputs = map[string]string{"sha256": "ab12", "action_id": "a-1", "file_name": "pkg.zip", "request_id": "r-1"}

func TestCompleteFunction(t *testing.T) {
	fake, s, exec := newStepEnv(t)
	ctx := context.Background()
	if err := s.CompleteFunction(ctx, exec.Token, exec.ID, stepOutputs); err != nil {
		t.Fatal(err)
	}
	got, _ := fake.Execution(exec.ID)
	done := fake.Completions()
	if got.State != slackfake.ExecutionSucceeded || got.Result["file_name"] != "pkg.zip" || len(done) != 1 || !done[0].ExecutionToken {
		t.Fatalf("execution %+v, completions %+v", got, done)
	}
	// Slack's answers to a second completion, an unknown execution, the bot
	// token and missing outputs come back as their Slack error codes.
	_, other, _ := newStepEnv(t)
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"completed twice", func() error { return s.CompleteFunction(ctx, exec.Token, exec.ID, stepOutputs) }, "execution_not_in_running_state"},
		{"error after success", func() error { return s.FailFunction(ctx, exec.Token, exec.ID, "late") }, "execution_not_in_running_state"},
		{"unknown execution", func() error { return s.CompleteFunction(ctx, exec.Token, "Fx404", stepOutputs) }, "function_execution_not_found"},
		{"bot token", func() error { return s.CompleteFunction(ctx, fake.BotToken(), exec.ID, stepOutputs) }, "invalid_auth"},
		{"missing outputs", func() error {
			_, e := fake.FunctionExecuted(slackfake.FunctionParams{CallbackID: "x", Outputs: []string{"sha256"}})
			return s.CompleteFunction(ctx, e.Token, e.ID, nil)
		}, "parameter_validation_failed"},
		{"another fake's execution", func() error { return other.CompleteFunction(ctx, exec.Token, exec.ID, stepOutputs) }, "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var se slack.SlackErrorResponse
			if !errors.As(err, &se) || se.Err != tt.want || slackError(err) != tt.want {
				t.Fatalf("got %v, want Slack error %s", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "slack functions.") || strings.Contains(err.Error(), "xwfp-") || strings.Contains(err.Error(), "xoxb-") {
				t.Fatalf("error %q should name the method and no token", err)
			}
			gone := tt.want == "execution_not_in_running_state" || tt.want == "function_execution_not_found"
			if errors.Is(err, handlers.ErrStepGone) != gone {
				t.Fatalf("error %v: is ErrStepGone %v, want %v", err, !gone, gone)
			}
		})
	}
}

func TestFailFunction(t *testing.T) {
	fake, s, exec := newStepEnv(t)
	if err := s.FailFunction(context.Background(), exec.Token, exec.ID, "Device host-1 was not found in Defender."); err != nil {
		t.Fatal(err)
	}
	got, _ := fake.Execution(exec.ID)
	if got.State != slackfake.ExecutionFailed || got.Error != "Device host-1 was not found in Defender." {
		t.Fatalf("execution %+v", got)
	}
}

// A reason quoting hostile input (a step's device input) cannot mention or link.
func TestFailFunctionEscapes(t *testing.T) {
	fake, s, exec := newStepEnv(t)
	if err := s.FailFunction(context.Background(), exec.Token, exec.ID, "The step's device input: <!channel> & <https://evil.example|x>"); err != nil {
		t.Fatal(err)
	}
	got, _ := fake.Execution(exec.ID)
	if want := "The step's device input: &lt;!channel&gt; &amp; &lt;https://evil.example|x&gt;"; got.Error != want {
		t.Fatalf("error sent as %q, want %q", got.Error, want)
	}
}

// Bad input is refused with a clear message and no call.
func TestFunctionBadInput(t *testing.T) {
	fake, s, exec := newStepEnv(t)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"no execution", func() error { return s.CompleteFunction(ctx, exec.Token, "", stepOutputs) }, "no function_execution_id"},
		{"no execution to fail", func() error { return s.FailFunction(ctx, exec.Token, "", "x") }, "no function_execution_id"},
		{"no message", func() error { return s.FailFunction(ctx, exec.Token, exec.ID, "") }, "no error message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	if n := len(fake.Calls("")); n != 0 {
		t.Fatalf("bad input made %d calls", n)
	}
}

// The bot token completes a step when there is no token of the step's own,
// or when Slack refuses it (expired); never when Slack takes it.
func TestFunctionBotTokenFallback(t *testing.T) {
	tests := []struct {
		name      string
		strict    bool // the fake takes only the execution's own token
		token     func(exec slackfake.FunctionExecution) string
		wantErr   string // "" for success
		wantOwn   bool   // completed with the execution's own token
		wantCalls int
	}{
		{"own token taken", true, func(e slackfake.FunctionExecution) string { return e.Token }, "", true, 1},
		{"no token: the bot token", false, func(slackfake.FunctionExecution) string { return "" }, "", false, 1},
		{"own token refused: the bot token", false, func(slackfake.FunctionExecution) string { return "xwfp-expired" }, "", false, 2},
		{"both refused", true, func(slackfake.FunctionExecution) string { return "xwfp-expired" }, "invalid_auth", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slackfake.New(slackfake.Options{RequireExecutionToken: tt.strict})
			t.Cleanup(fake.Close)
			_, exec := fake.FunctionExecuted(slackfake.FunctionParams{CallbackID: "collect_investigation_package", Outputs: []string{"sha256"}})
			s := newTestSlack(t, fake, nil)
			err := s.CompleteFunction(context.Background(), tt.token(exec), exec.ID, map[string]string{"sha256": "ab"})
			if (tt.wantErr == "") != (err == nil) || (err != nil && slackError(err) != tt.wantErr) {
				t.Fatalf("got %v, want error %q", err, tt.wantErr)
			}
			if n := len(fake.Calls("functions.completeSuccess")); n != tt.wantCalls {
				t.Fatalf("%d calls, want %d", n, tt.wantCalls)
			}
			if done := fake.Completions(); err == nil && (len(done) != 1 || done[0].ExecutionToken != tt.wantOwn) {
				t.Fatalf("completions %+v, want one with own token %v", done, tt.wantOwn)
			}
		})
	}
}

// A 429 is waited out (Retry-After) and the call made again.
func TestFunctionRateLimited(t *testing.T) {
	fake, s, exec := newStepEnv(t)
	fake.RateLimitNext("functions.completeSuccess", 1, 0)
	if err := s.CompleteFunction(context.Background(), exec.Token, exec.ID, stepOutputs); err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls("functions.completeSuccess")
	if len(calls) != 2 || calls[0].Error != "ratelimited" || calls[1].Error != "" {
		t.Fatalf("calls %+v", calls)
	}
	fake.RateLimitNext("functions.completeError", maxAttempts, 0)
	err := s.FailFunction(context.Background(), exec.Token, exec.ID, "x")
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("after %d 429s: %v, want a RateLimitedError", maxAttempts, err)
	}
}

// Answers the fake does not give: other HTTP statuses, ok:false without an
// error, a body that is not JSON, a 429 without Retry-After.
func TestFunctionsClientAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		check  func(error) bool
	}{
		{"server error", http.StatusInternalServerError, nil, "oops", func(err error) bool {
			var sc slack.StatusCodeError
			return errors.As(err, &sc) && sc.Code == http.StatusInternalServerError
		}},
		{"ok false without error", http.StatusOK, nil, `{"ok":false}`, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "without an error code")
		}},
		{"not JSON", http.StatusOK, nil, "<html>", func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "reading the answer")
		}},
		{"429 without Retry-After", http.StatusTooManyRequests, nil, "", func(err error) bool {
			var rl *slack.RateLimitedError
			return errors.As(err, &rl) && rl.RetryAfter.Seconds() == 1
		}},
		{"429 with Retry-After", http.StatusTooManyRequests, map[string]string{"Retry-After": "7"}, "", func(err error) bool {
			var rl *slack.RateLimitedError
			return errors.As(err, &rl) && rl.RetryAfter.Seconds() == 7
		}},
		{"ok", http.StatusOK, nil, `{"ok":true}`, func(err error) bool { return err == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var auth, ctype string
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth, ctype = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer ts.Close()
			c := functionsClient{apiURL: ts.URL + "/api/", http: ts.Client()}
			err := c.postMethod(context.Background(), "functions.completeSuccess", "xwfp-1", map[string]any{"function_execution_id": "Fx1"})
			if !tt.check(err) {
				t.Fatalf("unexpected result %v", err)
			}
			if auth != "Bearer xwfp-1" || !strings.HasPrefix(ctype, "application/json") {
				t.Fatalf("sent Authorization %q, Content-Type %q", auth, ctype)
			}
			if err != nil && strings.Contains(err.Error(), "xwfp-1") {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
}
