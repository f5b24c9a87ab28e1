package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// card renders a request's channel message from its state: one place decides
// what the channel sees at each step.
func (s *Service) card(ctx context.Context, r *Request) Message {
	m := Message{Fields: s.requestFields(r)}
	switch r.State {
	case StateAwaitingApproval:
		m.Header = fmt.Sprintf("Approval needed: <@%s> asks for an investigation package", r.User)
		m.Next = fmt.Sprintf("Approvers (%s): approve or deny. %s", mentionAll(r.Approvers), approvalsNeeded(r))
		m.Buttons = []Button{
			{Label: "Approve", ActionID: ActionApprove, Value: r.ID, Style: "primary"},
			{Label: "Deny", ActionID: ActionDeny, Value: r.ID, Style: "danger", Confirm: &Confirm{
				Title: "Deny this request?", Text: "The requester will be told their request was denied.", Confirm: "Deny", Deny: "Keep it"}},
		}
	case StateApproved:
		if r.Kind == KindCollect && r.ActionID == "" {
			m.Header = "Starting the collection on the device…"
		} else {
			m.Header = "Checking the action with Defender…"
		}
	case StateWaiting:
		m.Header = fmt.Sprintf("Waiting for Defender: the action is `%s`", r.LastStatus)
		m.Next = "This message updates as Defender progresses."
	case StateReady:
		m.Header = "The action succeeded: fetching the package…"
	case StateFetching:
		if r.QueuePosition > 0 {
			m.Header = "Waiting for Defender's download limit: " + r.Detail
			m.Next = fmt.Sprintf("Defender allows only %d package links a minute; requests are served in order.", s.opt.LinksPerMinute)
		} else {
			m.Header = "Fetching the package…"
		}
	case StateDelivered:
		switch r.Delivery {
		case DeliveryUpload:
			m.Header = "Package delivered: uploaded in this thread"
			m.Text = r.Detail
		case DeliveryLinkInChannel:
			m.Header = "Package delivered: link posted in the channel"
		default:
			m.Header = fmt.Sprintf("Package delivered: link sent privately to <@%s>", r.User)
		}
	case StateFailed:
		m.Header = "Request failed"
		m.Text = r.Detail
	case StateDenied:
		m.Header = "Request denied"
		m.Text = r.Detail
	case StateExpired:
		m.Header = "Request expired"
		m.Text = r.Detail
	case StateCancelled:
		m.Header = "Request cancelled"
		m.Text = r.Detail
	case StateAwaitingConfirmation:
		m.Header = "Waiting for the requester to confirm the collection"
	}
	if line := s.decisionsLine(ctx, r); line != "" {
		m.Fields = append(m.Fields, Field{Label: "Approval", Value: line})
	}
	m.Context = fmt.Sprintf("Request %s · asked %s UTC", r.ID, r.CreatedAt.UTC().Format("2006-01-02 15:04"))
	return m
}

func (s *Service) requestFields(r *Request) []Field {
	f := []Field{{Label: "Requester", Value: "<@" + r.User + ">"}}
	if r.ActionID != "" {
		f = append(f, Field{Label: "Action", Value: "`" + r.ActionID + "`"})
	}
	if r.MachineName != "" || r.MachineID != "" {
		f = append(f, Field{Label: "Machine", Value: machineLabel(r.MachineName, r.MachineID)})
	}
	if r.LastStatus != "" {
		f = append(f, Field{Label: "Defender status", Value: "`" + r.LastStatus + "`"})
	}
	if r.Comment != "" {
		f = append(f, Field{Label: "Comment", Value: r.Comment})
	}
	if !r.State.Terminal() && r.State != StateAwaitingApproval && r.State != StateAwaitingConfirmation {
		f = append(f, Field{Label: "Elapsed", Value: roundDuration(s.now().Sub(r.CreatedAt))})
	}
	return f
}

func machineLabel(name, id string) string {
	switch {
	case name != "" && id != "":
		return fmt.Sprintf("%s (`%s`)", name, id)
	case name != "":
		return name
	}
	return "`" + id + "`"
}

func approvalsNeeded(r *Request) string {
	if r.RequiredApprovals <= 1 {
		return "One approval is needed; the requester cannot approve."
	}
	return fmt.Sprintf("%d approvals are needed; the requester cannot approve.", r.RequiredApprovals)
}

// decisionsLine says who decided and when.
func (s *Service) decisionsLine(ctx context.Context, r *Request) string {
	if r.RequiredApprovals == 0 {
		return ""
	}
	ds, err := s.opt.Store.Decisions(ctx, r.ID)
	if err != nil || len(ds) == 0 {
		return ""
	}
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		verb := "approved"
		if !d.Approve {
			verb = "denied"
		}
		parts = append(parts, fmt.Sprintf("%s by <@%s> at %s UTC", verb, d.Approver, d.At.UTC().Format("15:04")))
	}
	return strings.Join(parts, "; ")
}

// roundDuration prints a duration for people: 45s, 3m10s, 1h2m.
func roundDuration(d time.Duration) string {
	if d < time.Hour {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
