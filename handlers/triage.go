package handlers

import (
	"context"
	"errors"

	"github.com/mdebot/mdebot/evidence"
	"github.com/mdebot/mdebot/triage"
)

// The triage summary follows the delivery of a stored package: a job of
// its own, queued once the request is delivered (so it never delays the
// delivery), reads the package from the evidence store, summarises it
// (package triage) and posts what it found where the package went: the
// request's thread for channel deliveries, privately for link ones.
//
// Posted at most once. The custody record's "triaged" access is the
// marker: it is appended (with the summary as posted) after the summary is
// made and before it is posted, and a run that finds it posts nothing. A
// crash in the moment between the two loses the chat message but not the
// summary, which is in the custody record and the audit trail; posting
// twice would put a second copy of the same findings in an incident
// thread people read under pressure. The marker is the chain-of-custody
// record of the read in any case: the bot read the package and derived
// this from it.

// triageActor is who reads the package for a summary, in the custody record.
const triageActor = "mdebot"

// scheduleTriage queues the triage of a request just delivered from the
// evidence store. A failure is logged: the delivery stands.
func (s *Service) scheduleTriage(ctx context.Context, r *Request) {
	if !s.keeps() {
		return
	}
	if err := s.opt.Jobs.StartTriage(ctx, r.ID); err != nil {
		s.logger(r.ID).ErrorContext(ctx, "queueing the triage summary failed; the package is delivered without one", "err", err)
	}
}

// RunTriage runs the triage job of request id: summarise its stored
// package and post the summary, once. A package that cannot be summarised
// gets the note "could not be summarised: <reason>"; an error (the store
// could not be read) makes the job runner retry. Nothing here changes the
// request.
func (s *Service) RunTriage(ctx context.Context, id string) (Next, error) {
	if !s.keeps() {
		return Next{}, nil
	}
	r, err := s.opt.Store.GetRequest(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Next{}, nil
	}
	if err != nil {
		return Next{}, err
	}
	if r.State != StateDelivered {
		return Next{}, nil
	}
	c, err := s.opt.Evidence.Custody(ctx, id)
	if errors.Is(err, evidence.ErrNotFound) {
		return Next{}, nil // delivered before packages were kept
	}
	if err != nil {
		return Next{}, err
	}
	if triaged(c) {
		return Next{}, nil
	}
	m, data, err := s.summarise(ctx, r, c)
	if err != nil || m == nil {
		return Next{}, err
	}
	if err := s.opt.Evidence.Record(ctx, id, evidence.Access{Kind: evidence.AccessTriaged, Actor: triageActor, At: s.now(), Detail: plainMessage(*m)}); err != nil {
		return Next{}, err // nothing posted yet: try again
	}
	outcome := "ok"
	if err := s.postTriage(ctx, r, *m); err != nil {
		outcome = "error"
		s.logger(id).ErrorContext(ctx, "posting the triage summary failed; it is in the custody record and the audit trail", "err", err)
	}
	s.auditReq(ctx, r, "", "triage.summary", outcome, data)
	return Next{}, nil
}

// triaged reports whether a summary was made (and posted) already.
func triaged(c evidence.Custody) bool {
	for _, a := range c.Accesses {
		if a.Kind == evidence.AccessTriaged {
			return true
		}
	}
	return false
}

// summarise reads the stored package and returns the message to post and
// the summary as compact JSON for the audit trail. A package no longer
// there (purged, missing) gives no message and no error: there is nothing
// to summarise, and that is logged.
func (s *Service) summarise(ctx context.Context, r *Request, c evidence.Custody) (*Message, string, error) {
	p, err := s.opt.Evidence.Open(ctx, r.ID)
	var purged *evidence.PurgedError
	if errors.As(err, &purged) || errors.Is(err, evidence.ErrMissing) || errors.Is(err, evidence.ErrNotFound) {
		s.logger(r.ID).WarnContext(ctx, "no triage summary: the stored package is gone", "err", err)
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	defer p.Close()
	sum, err := triage.Summarize(ctx, p, p.Size(), s.opt.Triage)
	if reason, ok := triage.Refusal(err); ok {
		m := s.refusedTriageMessage(r, c, reason)
		return &m, refusedDigest(reason), nil
	}
	if err != nil {
		return nil, "", err
	}
	m := s.triageMessage(r, c, sum)
	return &m, summaryDigest(sum), nil
}

// postTriage posts the summary where the package went.
func (s *Service) postTriage(ctx context.Context, r *Request, m Message) error {
	if r.Delivery == DeliveryLink {
		return s.privately(ctx, r, m)
	}
	_, err := s.opt.Messenger.Post(ctx, r.Channel, r.MessageTS, m)
	return err
}
