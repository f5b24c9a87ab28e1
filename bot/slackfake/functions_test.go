package slackfake_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/mdebot/mdebot/bot/slackfake"
)

// The functions.complete* state machine, driven through slack-go's own calls.
func TestFunctionCompletion(t *testing.T) {
	outputs := []string{"sha256", "request_id"}
	full := slack.FunctionCompleteSuccessRequestOptionOutput(map[string]string{"sha256": "ab12", "request_id": "r-1"})
	partial := slack.FunctionCompleteSuccessRequestOptionOutput(map[string]string{"sha256": "ab12"})
	type step struct {
		token   string // "exec", "other" (another execution's), "bot"
		success bool
		output  slack.FunctionCompleteSuccessRequestOption
		id      string // "" for the execution's own
		want    string // Slack error, "" for ok
	}
	tests := []struct {
		name      string
		strict    bool
		steps     []step
		wantState slackfake.ExecutionState
	}{
		{"success with the execution token, then twice", false, []step{
			{token: "exec", success: true, output: full},
			{token: "exec", success: true, output: full, want: "execution_not_in_running_state"},
			{token: "exec", want: "execution_not_in_running_state"},
		}, slackfake.ExecutionSucceeded},
		{"error, then success", false, []step{
			{token: "exec"},
			{token: "exec", success: true, output: full, want: "execution_not_in_running_state"},
		}, slackfake.ExecutionFailed},
		{"bot token accepted by default", false, []step{{token: "bot", success: true, output: full}}, slackfake.ExecutionSucceeded},
		{"bot token refused in strict mode", true, []step{
			{token: "bot", success: true, output: full, want: "invalid_auth"},
			{token: "exec", success: true, output: full},
		}, slackfake.ExecutionSucceeded},
		{"another execution's token", false, []step{{token: "other", want: "invalid_auth"}}, slackfake.ExecutionRunning},
		{"unknown execution", false, []step{{token: "bot", id: "Fx404", want: "function_execution_not_found"}}, slackfake.ExecutionRunning},
		{"a declared output missing", false, []step{
			{token: "exec", success: true, output: partial, want: "parameter_validation_failed"},
			{token: "exec", success: true, output: full},
		}, slackfake.ExecutionSucceeded},
		{"no outputs at all", false, []step{{token: "exec", success: true, want: "invalid_arguments"}}, slackfake.ExecutionRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, _ := newFake(t, slackfake.Options{RequireExecutionToken: tt.strict})
			_, exec := fake.FunctionExecuted(slackfake.FunctionParams{CallbackID: "step", Outputs: outputs})
			_, other := fake.FunctionExecuted(slackfake.FunctionParams{CallbackID: "step"})
			tokens := map[string]string{"exec": exec.Token, "other": other.Token, "bot": fake.BotToken()}
			accepted := 0
			for i, st := range tt.steps {
				api := client(fake, tokens[st.token], "")
				id := st.id
				if id == "" {
					id = exec.ID
				}
				var err error
				if st.success {
					var opts []slack.FunctionCompleteSuccessRequestOption
					if st.output != nil {
						opts = append(opts, st.output)
					}
					err = api.FunctionCompleteSuccessContext(ctx(t), id, opts...)
				} else {
					err = api.FunctionCompleteErrorContext(ctx(t), id, "device not found")
				}
				var se slack.SlackErrorResponse
				switch {
				case st.want == "" && err != nil:
					t.Fatalf("step %d: %v", i, err)
				case st.want != "" && (!errors.As(err, &se) || se.Err != st.want):
					t.Fatalf("step %d: got %v, want %s", i, err, st.want)
				case st.want == "parameter_validation_failed" && !strings.Contains(strings.Join(se.ResponseMetadata.Messages, ";"), "request_id"):
					t.Fatalf("step %d: validation messages %v do not name the missing output", i, se.ResponseMetadata.Messages)
				}
				if err == nil {
					accepted++
				}
			}
			got, _ := fake.Execution(exec.ID)
			if got.State != tt.wantState {
				t.Fatalf("state %s, want %s", got.State, tt.wantState)
			}
			done := fake.Completions()
			if len(done) != accepted {
				t.Fatalf("%d completions recorded, %d accepted", len(done), accepted)
			}
			for _, c := range done {
				if c.ExecutionID != exec.ID || (c.Token == exec.Token) != c.ExecutionToken || c.Token == "" {
					t.Fatalf("completion %+v", c)
				}
				if c.Success && (c.Outputs["sha256"] != "ab12" || got.Result["request_id"] != "r-1") {
					t.Fatalf("success recorded as %+v, execution %+v", c, got)
				}
				if !c.Success && (c.Error != "device not found" || got.Error != "device not found") {
					t.Fatalf("error recorded as %+v, execution %+v", c, got)
				}
			}
		})
	}
}
