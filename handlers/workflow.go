package handlers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mdebot/mdebot/identity/account"
	"github.com/mdebot/mdebot/mde"
)

// The Workflow Builder step (manifest functions.collect_investigation_package).
// function_executed runs the slash command's collect as the requester the
// workflow names, under the channel's policy (approvals included); the step
// ends when the request ends: functions.completeSuccess with the outputs
// once delivered, functions.completeError with the reason otherwise.
//
// The confirmation a person gives a collect (the Confirm button) is, for a
// workflow, the workflow author's choice to put the step there: a workflow
// has no one to click, so the request goes straight to the channel's
// approval (or to work).
const StepCallback = "collect_investigation_package"

// The step's inputs and outputs, by name (the manifest declares them).
const (
	StepInputDevice    = "device"
	StepInputComment   = "comment"
	StepInputRequester = "requester"
	StepInputChannel   = "channel"

	StepOutputSHA256    = "sha256"
	StepOutputActionID  = "action_id"
	StepOutputFileName  = "file_name"
	StepOutputRequestID = "request_id"
)

// ErrStepGone is what Functions report when Slack no longer runs the step
// (completed already, or unknown): there is nothing left to complete.
var ErrStepGone = errors.New("the workflow step is no longer running")

// Step is the Workflow Builder step execution a request answers, kept (the
// token sealed, see StepStore) until the step is completed.
type Step struct {
	RequestID   string
	ExecutionID string
	// Token is the execution's bot_access_token; zero when it could not be
	// read back (then the bot token is used).
	Token     Secret
	CreatedAt time.Time
}

// StepStore keeps the steps requests answer; store.Steps implements it,
// sealing the token (never stored in clear).
type StepStore interface {
	// CreateStepRequest inserts r (as CreateRequest) and its step in one transaction.
	CreateStepRequest(ctx context.Context, r *Request, st Step) error
	// HasStep reports whether a step waits for request id.
	HasStep(ctx context.Context, id string) (bool, error)
	// Step returns the step of request id, or ErrNotFound.
	Step(ctx context.Context, id string) (*Step, error)
	// DeleteStep forgets the step of request id (and its token).
	DeleteStep(ctx context.Context, id string) error
}

// Functions ends Workflow Builder steps (*bot.Slack: functions.completeSuccess
// and functions.completeError). token is the execution's bot_access_token
// ("" for the bot token). A step Slack no longer runs fails with ErrStepGone.
type Functions interface {
	CompleteFunction(ctx context.Context, token, executionID string, outputs map[string]string) error
	FailFunction(ctx context.Context, token, executionID, message string) error
}

var (
	slackUserID    = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	slackChannelID = regexp.MustCompile(`^[CG][A-Z0-9]{2,20}$`)
)

// stepExecuted starts the request of a function_executed event, or ends the
// step at once with the reason it cannot run.
func (s *Service) stepExecuted(ctx context.Context, e Event) {
	call := e.Step
	log := s.logger(e.RequestID).With("execution_id", call.ExecutionID)
	if call.CallbackID != StepCallback {
		log.WarnContext(ctx, "function_executed of another step ignored", "callback_id", call.CallbackID)
		return
	}
	if s.opt.Functions == nil {
		log.WarnContext(ctx, "function_executed ignored: the workflow step is turned off (slack.features)")
		return
	}
	fail := func(reason string) {
		s.audit(ctx, AuditEvent{Team: e.Team, Actor: call.Inputs[StepInputRequester], Channel: call.Inputs[StepInputChannel],
			Event: "workflow.refused", Outcome: "refused", Detail: reason})
		s.failStep(ctx, call.Token, call.ExecutionID, reason)
	}
	if s.opt.Steps == nil {
		fail("This bot has its Workflow Builder step turned off (slack.features); ask its operators.")
		return
	}
	in, reason := stepInputs(call.Inputs)
	if reason != "" {
		fail(reason)
		return
	}
	if _, err := s.opt.Identity.Linked(ctx, e.Team, in.requester); err != nil {
		if errors.Is(err, account.ErrNotLinked) {
			fail(fmt.Sprintf("The requester (Slack user %s) has not linked a Microsoft account, and the bot calls Defender only as the requester. "+
				"Ask them to run %s login in Slack, then run the workflow again.", in.requester, s.opt.Command))
			return
		}
		fail("Could not check the requester's Microsoft account: " + s.explain(ctx, err, "request_id", e.RequestID, "step", "workflow").Plain())
		return
	}
	now := s.now()
	id := e.RequestID
	if len(id) < 16 {
		id = randomHex(8)
	}
	r := &Request{ID: id, Team: e.Team, Channel: in.channel, User: in.requester, Kind: KindCollect,
		Target: in.device, Comment: in.comment, State: StateReceived, CreatedAt: now, UpdatedAt: now}
	st := Step{RequestID: id, ExecutionID: call.ExecutionID, Token: call.Token, CreatedAt: now}
	if err := s.opt.Steps.CreateStepRequest(ctx, r, st); err != nil {
		fail("The request could not be recorded: " + s.explain(ctx, err, "request_id", id, "step", "workflow").Plain())
		return
	}
	s.auditReq(ctx, r, r.User, "workflow.started", "ok", fmt.Sprintf("collect %s by Workflow Builder step %s", r.Target, call.ExecutionID))
	s.intake(ctx, r)
}

type stepIn struct{ device, comment, requester, channel string }

// stepInputs reads and checks the step's inputs; reason says what is wrong.
func stepInputs(in map[string]string) (stepIn, string) {
	v := stepIn{
		device:    strings.TrimSpace(in[StepInputDevice]),
		comment:   strings.TrimSpace(in[StepInputComment]),
		requester: strings.TrimSpace(in[StepInputRequester]),
		channel:   strings.TrimSpace(in[StepInputChannel]),
	}
	switch {
	case !slackUserID.MatchString(v.requester):
		return v, "The step's requester input must be a Slack user."
	case !slackChannelID.MatchString(v.channel):
		return v, "The step's channel input must be a Slack channel (an incident channel, not a direct message)."
	case v.device == "":
		return v, "The step's device input is empty: give a device ID (40 hex characters) or a host name."
	case utf8.RuneCountInString(v.comment) > maxComment:
		return v, fmt.Sprintf("The step's comment input is too long (at most %d characters).", maxComment)
	}
	target, err := machineTarget(v.device)
	if err != nil {
		var he *Error
		errors.As(err, &he)
		return v, "The step's device input: " + he.Message.Plain()
	}
	v.device = target
	return v, ""
}

// answersStep reports whether r was started by a Workflow Builder step that
// is still to be completed.
func (s *Service) answersStep(ctx context.Context, r *Request) bool {
	if s.opt.Steps == nil {
		return false
	}
	ok, err := s.opt.Steps.HasStep(ctx, r.ID)
	if err != nil {
		s.logger(r.ID).WarnContext(ctx, "checking for a workflow step failed", "err", err)
	}
	return ok
}

// stepConfirmed moves a workflow's collect on once its device is known: the
// workflow is the confirmation, so on to the channel's approval or to work.
func (s *Service) stepConfirmed(ctx context.Context, r *Request, rule *ChannelRule, name string, m mde.Machine) {
	to := StateApproved
	if rule.Approval.NeededFor(KindCollect) {
		to = StateAwaitingApproval
	}
	ok, err := s.move(ctx, r, step{to: to, mutate: func(x *Request) {
		x.ChannelName, x.Delivery = name, rule.Delivery
		x.MachineID, x.MachineName = m.ID, m.ComputerDNSName
		if to == StateAwaitingApproval {
			s.openApproval(x, rule)
		}
	}})
	if err != nil || !ok {
		s.intakeLost(ctx, r, err)
		return
	}
	s.auditReq(ctx, r, r.User, "request.created", string(r.State), strings.TrimSpace("collect "+r.Target+" "+r.Comment)+" (confirmed by the Workflow Builder step)")
	s.opt.Metrics.Command(VerbCollect, "ok")
	if r.State == StateAwaitingApproval {
		s.askApproval(ctx, r, recipient(r))
		return
	}
	s.reply(ctx, recipient(r), r.ID, Message{
		Header:  Tf("A workflow started a collection on %s as you", m.ComputerDNSName),
		Text:    Tf("A Workflow Builder step asked for this investigation package in your name. Progress appears in %s.", Channel(r.Channel)),
		Fields:  s.requestFields(r),
		Context: Tf("Request %s", Code(r.ID)),
	})
}

// finishStep completes the Workflow Builder step of an ended request, once:
// the step is forgotten when Slack took the completion (or no longer runs
// the step). An error leaves it for the request's job to try again.
func (s *Service) finishStep(ctx context.Context, r *Request) error {
	if s.opt.Steps == nil || s.opt.Functions == nil || !r.State.Terminal() {
		return nil
	}
	st, err := s.opt.Steps.Step(ctx, r.ID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the workflow step: %w", err)
	}
	event, outcome := "workflow.completed", "ok"
	if r.State == StateDelivered {
		err = s.opt.Functions.CompleteFunction(ctx, st.Token.Reveal(), st.ExecutionID, stepOutputs(r))
	} else {
		event, outcome = "workflow.failed", string(r.State)
		err = s.opt.Functions.FailFunction(ctx, st.Token.Reveal(), st.ExecutionID, stepFailure(r))
	}
	switch {
	case errors.Is(err, ErrStepGone):
		s.logger(r.ID).WarnContext(ctx, "the workflow step was no longer running; nothing to complete", "execution_id", st.ExecutionID, "err", err)
		event, outcome = "workflow.gone", "gone"
	case err != nil:
		return fmt.Errorf("completing the workflow step %s: %w", st.ExecutionID, err)
	}
	s.auditReq(ctx, r, r.User, event, outcome, "Workflow Builder step "+st.ExecutionID)
	return s.opt.Steps.DeleteStep(ctx, r.ID)
}

// stepOutputs are the step's outputs for a delivered request.
func stepOutputs(r *Request) map[string]string {
	return map[string]string{
		StepOutputSHA256:    r.SHA256,
		StepOutputActionID:  r.ActionID,
		StepOutputFileName:  packageFileName(r),
		StepOutputRequestID: r.ID,
	}
}

// stepFailure is the plain reason Workflow Builder shows for an ended request.
func stepFailure(r *Request) string {
	return fmt.Sprintf("Request %s %s: %s", r.ID, stateWords(r.State), detailText(r).Plain())
}

// failStep ends a step at once with reason (plain words), logging a failure.
func (s *Service) failStep(ctx context.Context, token Secret, executionID, reason string) {
	if err := s.opt.Functions.FailFunction(ctx, token.Reveal(), executionID, reason); err != nil {
		s.log.ErrorContext(ctx, "ending the workflow step with an error failed", "execution_id", executionID, "err", err)
	}
}
