package handlers

import (
	"context"
	"fmt"
	"time"
)

// card renders a request's channel message from its state: one place decides
// what the channel sees at each step.
func (s *Service) card(ctx context.Context, r *Request) Message {
	if r.BatchID != "" {
		if m, ok := s.batchCard(ctx, r.BatchID); ok {
			return m
		}
	}
	m := Message{Fields: s.requestFields(r)}
	what := "an investigation package"
	if r.LiveResponse() {
		what = "a file (live response)"
	}
	switch r.State {
	case StateAwaitingApproval:
		m.Header = Tf("Approval needed: %s asks for %s", User(r.User), what)
		m.Next = Tf("Approvers (%s): approve or deny. %s", mentionAll(r.Approvers), approvalsNeeded(r))
		m.Buttons = approvalButtons(r.ID)
	case StateApproved:
		switch {
		case r.Kind == KindGetFile && r.ActionID == "" && r.QueuePosition > 0:
			m.Header = T("Waiting for Defender's live response limit: " + r.Detail)
			m.Next = Tf("Defender lets this app start only %d live response sessions a minute; requests are served in turn.", s.opt.SessionsPerMinute)
		case r.Kind == KindGetFile && r.ActionID == "":
			m.Header = T("Opening a live response session on the device…")
		case r.Kind == KindCollect && r.ActionID == "":
			m.Header = T("Starting the collection on the device…")
		default:
			m.Header = T("Checking the action with Defender…")
		}
	case StateWaiting:
		m.Header = Tf("Waiting for Defender: the action is %s", Code(r.LastStatus))
		m.Next = T("This message updates as Defender progresses.")
	case StateReady:
		m.Header = T("The action succeeded: fetching the " + noun(r) + "…")
	case StateFetching:
		if r.QueuePosition > 0 {
			m.Header = T("Waiting for Defender's download limit: " + r.Detail)
			m.Next = Tf("Defender allows only %d package links a minute; requests are served in turn.", s.opt.LinksPerMinute)
		} else {
			m.Header = T("Fetching the " + noun(r) + "…")
		}
	case StateDelivered:
		what := "Package"
		if r.LiveResponse() {
			what = "File"
		}
		switch r.Delivery {
		case DeliveryUpload:
			m.Header = T(what + " delivered: uploaded in this thread")
			m.Text = T(r.Detail)
		case DeliveryLinkInChannel:
			m.Header = T(what + " delivered: link posted in the channel")
		default:
			m.Header = Tf("%s delivered: link sent privately to %s", what, User(r.User))
		}
	case StateFailed:
		m.Header, m.Text = T("Request failed"), detailText(r)
	case StateDenied:
		m.Header, m.Text = T("Request denied"), detailText(r)
	case StateExpired:
		m.Header, m.Text = T("Request expired"), detailText(r)
	case StateCancelled:
		m.Header, m.Text = T("Request cancelled"), detailText(r)
	case StateAwaitingConfirmation:
		m.Header = T("Waiting for the requester to confirm the " + askedFor(r))
	}
	if line := s.decisionsLine(ctx, r); len(line) > 0 {
		m.Fields = append(m.Fields, Field{Label: "Approval", Value: line})
	}
	m.Context = Tf("Request %s · asked %s UTC", Code(r.ID), r.CreatedAt.UTC().Format("2006-01-02 15:04"))
	return m
}

// approvalButtons are Approve and Deny for request id, in the channel and on
// App Home alike (one decision path: decide).
func approvalButtons(id string) []Button {
	return []Button{
		{Label: "Approve", ActionID: ActionApprove, Value: id, Style: "primary"},
		{Label: "Deny", ActionID: ActionDeny, Value: id, Style: "danger", Confirm: &Confirm{
			Title: "Deny this request?", Text: "The requester will be told their request was denied.", Confirm: "Deny", Deny: "Keep it"}},
	}
}

// detailText is a request's outcome for people: its stored plain detail, or
// for a denial, who denied it (the stored detail holds only their ID).
func detailText(r *Request) Text {
	if r.State == StateDenied && r.DecidedBy != "" {
		return Tf("Denied by %s at %s UTC.", User(r.DecidedBy), r.UpdatedAt.UTC().Format("15:04"))
	}
	return T(r.Detail)
}

func (s *Service) requestFields(r *Request) []Field {
	f := []Field{{Label: "Requester", Value: T(User(r.User))}}
	if r.ActionID != "" {
		f = append(f, Field{Label: "Action", Value: T(Code(r.ActionID))})
	}
	if r.MachineName != "" || r.MachineID != "" {
		f = append(f, Field{Label: "Machine", Value: machineLabel(r.MachineName, r.MachineID)})
	}
	if r.Path != "" {
		f = append(f, Field{Label: "File", Value: T(Code(r.Path))})
	}
	if r.LastStatus != "" {
		f = append(f, Field{Label: "Defender status", Value: T(Code(r.LastStatus))})
	}
	if r.Comment != "" {
		f = append(f, Field{Label: "Comment", Value: T(r.Comment)})
	}
	if !r.State.Terminal() && r.State != StateAwaitingApproval && r.State != StateAwaitingConfirmation {
		f = append(f, Field{Label: "Elapsed", Value: T(roundDuration(s.now().Sub(r.CreatedAt)))})
	}
	return f
}

// askedFor names what a collect or getfile request starts on the device.
func askedFor(r *Request) string {
	if r.Kind == KindGetFile {
		return "file request"
	}
	return "collection"
}

func machineLabel(name, id string) Text {
	switch {
	case name != "" && id != "":
		return Tf("%s (%s)", name, Code(id))
	case name != "":
		return T(name)
	}
	return T(Code(id))
}

func approvalsNeeded(r *Request) string {
	if r.RequiredApprovals <= 1 {
		return "One approval is needed; the requester cannot approve."
	}
	return fmt.Sprintf("%d approvals are needed; the requester cannot approve.", r.RequiredApprovals)
}

// decisionsLine says who approved and when.
func (s *Service) decisionsLine(ctx context.Context, r *Request) Text {
	if r.RequiredApprovals == 0 {
		return nil
	}
	ds, err := s.opt.Store.Decisions(ctx, r.ID)
	if err != nil || len(ds) == 0 {
		return nil
	}
	var t Text
	for i, d := range ds {
		if i > 0 {
			t = append(t, Plain("; "))
		}
		verb := "approved"
		if !d.Approve {
			verb = "denied"
		}
		t = append(t, Tf("%s by %s at %s UTC", verb, User(d.Approver), d.At.UTC().Format("15:04"))...)
	}
	return t
}

// roundDuration prints a duration for people: 45s, 3m10s, 1h2m.
func roundDuration(d time.Duration) string {
	if d < time.Hour {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
