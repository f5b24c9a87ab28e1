package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mdebot/mdebot/handlers"
	"github.com/mdebot/mdebot/store"
)

const stepToken = "xwfp-step-token-secret"

// stepRun reports a function_executed event of the step with these inputs.
func (e *surfaceEnv) stepRun(id string, inputs map[string]string) {
	run(e.svc.Event(context.Background(), handlers.Event{RequestID: "0123456789abcdef" + id, ID: "Ev" + id, Team: team,
		Kind: handlers.EventStepExecuted, Step: &handlers.StepCall{CallbackID: handlers.StepCallback, ExecutionID: "Fx" + id,
			Inputs: inputs, Token: handlers.NewSecret(stepToken)}}))
}

func stepInputs(device, requester, channel string) map[string]string {
	return map[string]string{handlers.StepInputDevice: device, handlers.StepInputComment: "INC-7 beaconing",
		handlers.StepInputRequester: requester, handlers.StepInputChannel: channel}
}

// deliver walks a request through its job's states to delivered, as the
// fetch job would end it, with the package's hash.
func (e *surfaceEnv) deliver(t *testing.T, id, sum string) *handlers.Request {
	t.Helper()
	ctx := context.Background()
	r := e.get(t, id)
	for _, to := range []handlers.State{handlers.StateWaiting, handlers.StateReady} {
		if ok, err := e.svc.Move(ctx, r, to, time.Time{}, ""); err != nil || !ok {
			t.Fatalf("move to %s: %v %v", to, ok, err)
		}
	}
	if err := e.svc.Update(ctx, r, func(x *handlers.Request) { x.ActionID = actionID }); err != nil {
		t.Fatal(err)
	}
	claimed, err := e.db.ClaimReady(ctx, actionID, "owner-1", e.clock.Now().Add(time.Minute), e.clock.Now())
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	r = claimed[0]
	if err := e.svc.Update(ctx, r, func(x *handlers.Request) { x.SHA256 = sum }); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.svc.Move(ctx, r, handlers.StateDelivered, time.Time{}, ""); err != nil || !ok {
		t.Fatalf("deliver: %v %v", ok, err)
	}
	return r
}

// A workflow's step runs the collect as its requester, with the workflow as
// the confirmation: on to the channel's approval, and once delivered the
// step is completed with its outputs, once, with the execution's token,
// which the database never holds in clear.
func TestWorkflowStepDelivered(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newSurfaceEnv(t, open())
		ctx := context.Background()
		e.stepRun("1", stepInputs(strings.ToUpper(deviceName), requester, channel))
		id := "0123456789abcdef1"
		r := e.get(t, id)
		if r.State != handlers.StateAwaitingApproval || r.User != requester || r.MachineID != deviceID || r.Kind != handlers.KindCollect || r.Comment != "INC-7 beaconing" {
			t.Fatalf("request %+v, want a collect of %s awaiting approval", r, deviceID)
		}
		if ok, err := e.steps.HasStep(ctx, id); err != nil || !ok {
			t.Fatalf("no step kept: %v", err)
		}
		var sealed []byte
		if err := e.db.SQL.QueryRowContext(ctx, `SELECT sealed_token FROM workflow_steps WHERE request_id = $1`, id).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(sealed), stepToken) || strings.Contains(string(sealed), "xwfp-") {
			t.Fatal("the step's token is stored in clear")
		}
		if len(e.msgs.to(requester, "ask an approver")) != 1 {
			t.Error("the requester was not told an approval is needed")
		}
		if n := len(e.audited(t, id, "workflow.started")); n != 1 {
			t.Errorf("%d workflow.started events", n)
		}

		e.click(approver, handlers.ActionApprove, id)
		sum := strings.Repeat("ab", 32)
		e.deliver(t, id, sum)
		if len(e.fns.completions()) != 0 {
			t.Fatal("the step completed before the request's job ran")
		}
		for range 2 { // a job run twice completes once
			if _, err := e.svc.RunRequest(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		done := e.fns.completions()
		if len(done) != 1 || !done[0].success || done[0].token != stepToken || done[0].execution != "Fx1" {
			t.Fatalf("completions %+v", done)
		}
		want := map[string]string{"sha256": sum, "action_id": actionID, "file_name": "investigation-package-" + actionID + ".zip", "request_id": id}
		if fmt.Sprint(done[0].outputs) != fmt.Sprint(want) {
			t.Errorf("outputs %v, want %v", done[0].outputs, want)
		}
		if ok, _ := e.steps.HasStep(ctx, id); ok {
			t.Error("the step's token is still kept after completion")
		}
		if n := len(e.audited(t, id, "workflow.completed")); n != 1 {
			t.Errorf("%d workflow.completed events", n)
		}
	})
}

// A channel whose approval.required_for leaves collect out runs a workflow's
// collect without approval, as it runs a typed one.
func TestWorkflowStepFollowsRequiredFor(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newSurfaceEnvWith(t, open(), func(o *handlers.Options) {
			o.Policy.Channels[0].Approval.RequiredFor = []handlers.Kind{handlers.KindGetFile}
		})
		e.stepRun("1", stepInputs(deviceName, requester, channel))
		if r := e.get(t, "0123456789abcdef1"); r.State != handlers.StateApproved {
			t.Fatalf("state %s, want approved: the channel asks approval for getfile only", r.State)
		}
	})
}

// A step that cannot run ends at once with completeError and the plain
// reason, and nothing is requested; one that ends badly later ends with its
// reason; a step Slack no longer runs is forgotten.
func TestWorkflowStepFails(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *store.DB) {
		e := newSurfaceEnv(t, open(), outsider)
		ctx := context.Background()
		at := []struct {
			name   string
			inputs map[string]string
			word   string
		}{
			{"unlinked requester", stepInputs(deviceName, outsider, channel), "has not linked a Microsoft account"},
			{"not a user", stepInputs(deviceName, "C0NOTUSER", channel), "requester input must be a Slack user"},
			{"a DM", stepInputs(deviceName, requester, "D0DIRECT1"), "must be a Slack channel"},
			{"bad device", stepInputs("not a host!", requester, channel), "neither a machine ID"},
			{"no device", stepInputs("", requester, channel), "device input is empty"},
		}
		for i, tt := range at {
			t.Run(tt.name, func(t *testing.T) {
				n := len(e.fns.completions())
				e.stepRun(fmt.Sprint("bad", i), tt.inputs)
				done := e.fns.completions()
				if len(done) != n+1 || done[n].success || !strings.Contains(done[n].message, tt.word) || done[n].token != stepToken {
					t.Fatalf("completions %+v, want an error saying %q", done[n:], tt.word)
				}
				if tt.name == "unlinked requester" && !strings.Contains(done[n].message, "/mde-package login") {
					t.Errorf("the workflow author is not told the requester must run login: %q", done[n].message)
				}
				if _, err := e.db.GetRequest(ctx, fmt.Sprint("0123456789abcdefbad", i)); err == nil {
					t.Error("a request was stored")
				}
			})
		}

		t.Run("channel outside the policy", func(t *testing.T) {
			e.stepRun("2", stepInputs(deviceID, requester, "C0NOPOLICY"))
			id := "0123456789abcdef2"
			r := e.get(t, id)
			if r.State != handlers.StateFailed {
				t.Fatalf("state %s, want failed", r.State)
			}
			if _, err := e.svc.RunRequest(ctx, id); err != nil {
				t.Fatal(err)
			}
			done := e.fns.completions()
			last := done[len(done)-1]
			if last.success || last.execution != "Fx2" || !strings.Contains(last.message, "Request "+id+" failed") || !strings.Contains(last.message, "policy.channels") {
				t.Fatalf("completion %+v", last)
			}
		})

		t.Run("step gone", func(t *testing.T) {
			e.stepRun("3", stepInputs(deviceID, requester, channel))
			id := "0123456789abcdef3"
			e.fns.setErr(fmt.Errorf("slack: execution_not_in_running_state (%w)", handlers.ErrStepGone))
			defer e.fns.setErr(nil)
			e.click(approver, handlers.ActionDeny, id)
			if _, err := e.svc.RunRequest(ctx, id); err != nil {
				t.Fatalf("a step Slack no longer runs made the job fail: %v", err)
			}
			if ok, _ := e.steps.HasStep(ctx, id); ok {
				t.Error("the step is still kept")
			}
		})

		t.Run("Slack down", func(t *testing.T) {
			e.stepRun("4", stepInputs(deviceID, requester, channel))
			id := "0123456789abcdef4"
			e.fns.setErr(fmt.Errorf("slack functions.completeError: connection refused"))
			e.click(approver, handlers.ActionDeny, id)
			if _, err := e.svc.RunRequest(ctx, id); err == nil {
				t.Fatal("a failed completion did not fail the job (it would not be retried)")
			}
			e.fns.setErr(nil)
			if _, err := e.svc.RunRequest(ctx, id); err != nil {
				t.Fatal(err)
			}
			done := e.fns.completions()
			if last := done[len(done)-1]; last.execution != "Fx4" || !strings.Contains(last.message, "denied") {
				t.Fatalf("completion %+v", last)
			}
		})
	})
}
