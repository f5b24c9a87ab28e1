package handlers

import "context"

// audit appends an event; the trail must not stop the work, so a failure is logged.
func (s *Service) audit(ctx context.Context, e AuditEvent) {
	if e.At.IsZero() {
		e.At = s.now()
	}
	// Every step is also a log line carrying the request id, so one id runs
	// from the Slack request to the delivery in the logs too.
	s.logger(e.RequestID).InfoContext(ctx, "step", "event", e.Event, "outcome", e.Outcome, "actor", e.Actor,
		"channel", e.Channel, "action_id", e.ActionID, "machine_id", e.MachineID, "sha256", e.SHA256, "bytes", e.Bytes)
	if err := s.opt.Store.AppendAudit(ctx, e); err != nil {
		s.logger(e.RequestID).ErrorContext(ctx, "audit append failed", "event", e.Event, "err", err)
	}
}

// auditReq appends an event about a request, filling in what the request knows.
func (s *Service) auditReq(ctx context.Context, r *Request, actor, event, outcome, detail string) {
	s.audit(ctx, AuditEvent{
		RequestID: r.ID, Team: r.Team, Channel: r.Channel, Actor: actor, Event: event, Outcome: outcome,
		ActionID: r.ActionID, MachineID: r.MachineID, SHA256: r.SHA256, Bytes: r.Bytes, Detail: detail,
	})
}
