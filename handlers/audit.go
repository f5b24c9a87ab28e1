package handlers

import "context"

// audit appends an event; the trail must not stop the work, so a failure is logged.
func (s *Service) audit(ctx context.Context, e AuditEvent) {
	if e.At.IsZero() {
		e.At = s.now()
	}
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
